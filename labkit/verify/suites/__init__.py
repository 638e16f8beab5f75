"""Suites composed from what a design contains: every part whose predicate holds adds its checks, stage by stage
(see labkit.verify.suites.part), so any design file gets its checks without new Python. A new part is a module
with a `Part` and one line in PARTS; a part for declared fault cases goes in the `faults` stage, starting from
`suite.ready`."""

from __future__ import annotations

from dataclasses import replace

from labkit.design.model import Design
from labkit.verify.engine import Check
from labkit.verify.schedule import after, chain
from labkit.verify.suites import (
    baseline,
    cluster,
    encryption,
    failover,
    mpls,
    phase1,
    phase2,
    phase3,
    reachability,
    sampled,
)
from labkit.verify.suites.part import STAGES, Part, Suite, checked

PARTS: tuple[Part, ...] = (
    # established: the designed state
    cluster.VRRP,
    baseline.PART,
    # story: the first that applies; reachability applies to every design
    failover.STORY,
    sampled.PART,
    phase3.PART,
    phase2.PART,
    phase1.PART,
    reachability.PART,
    # alongside the story
    encryption.PART,
    mpls.PART,
    # fault cases
    failover.CASES,
    cluster.TAKEOVER,
)


def parts_for(design: Design) -> list[Part]:
    """The parts a design gets, in the registry's order: every one that applies, but one story."""
    applying = [p for p in PARTS if p.applies(design)]
    story = next(p for p in applying if p.stage == "story")
    return [p for p in applying if p.stage != "story" or p is story]


def suite_for(design: Design) -> list[Check]:
    """The design's checks, stage by stage: the designed state, the story told in order once it holds, what
    runs alongside, then the fault cases from the end of the story."""
    parts = parts_for(design)
    suite = Suite(design, checked(design))
    checks: list[Check] = []
    for stage in STAGES:
        added = [c for p in parts if p.stage == stage for c in p.checks(suite)]
        if stage == "established":
            suite = replace(suite, base=tuple(added))
        elif stage == "story":
            added = after(suite.base, *chain(*added))
            suite = replace(suite, ready=tuple(added[-1:]))
        checks += added
    return checks
