"""The story every design can tell: its LANs reach each other (all pairs in a small lab, the hubs and a sample
in a large one). It is the story of a design whose phase has no story of its own to tell (a phase 1 cloud of one
spoke, two spokes both behind PATs): a phase story proves reachability as its own step."""

from __future__ import annotations

from labkit.design.model import Design
from labkit.verify.checks import paths
from labkit.verify.engine import Check
from labkit.verify.suites import phase1, phase2, phase3, sampled
from labkit.verify.suites.part import Part, Suite

PHASE_STORIES = (sampled.PART, phase3.PART, phase2.PART, phase1.PART)


def _untold(design: Design) -> str | None:
    told = next((p for p in PHASE_STORIES if p.applies(design)), None)
    return f"the phase story proves it ({told.name.split(':')[0]})" if told else None


def _story(suite: Suite) -> list[Check]:
    return [paths.reachability(suite.checked)]


PART = Part("reachability between the LANs", "story", (_untold,), _story)
