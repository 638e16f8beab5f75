"""Suites composed from what a design contains: every part whose predicate holds adds its checks, stage by stage
(see labkit.verify.suites.part), so any design file gets its checks without new Python. A new part is a module
with a `Part` and one line in PARTS; a part for declared fault cases goes in the `faults` stage, starting from
`suite.ready`."""

from __future__ import annotations

from dataclasses import dataclass, replace

from labkit.design.model import Design
from labkit.verify.deadlines import TABLE, recording, table_text
from labkit.verify.engine import Check
from labkit.verify.schedule import after, chain
from labkit.verify.suites import (
    baseline,
    cluster,
    edge,
    encryption,
    failover,
    keptout,
    mpls,
    nat,
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
    # story: the phase's (on any number of hubs), then what a hub pair adds; reachability where no phase story is told
    sampled.PART,
    phase3.PART,
    phase2.PART,
    phase1.PART,
    reachability.PART,
    failover.STORY,
    # alongside the story
    encryption.PART,
    mpls.PART,
    nat.STATE,
    # fault cases
    failover.CASES,
    cluster.TAKEOVER,
    nat.SHORTCUT,
    keptout.PART,
    edge.PART,
)


@dataclass(frozen=True)
class Considered:
    """A part of the registry as a design sees it: applied, or left out and why."""

    part: Part
    left_out: str | None  # why the design does not get it; None: applied

    def as_dict(self) -> dict[str, str]:
        return {"part": self.part.name, "stage": self.part.stage,
                "applied": "yes" if self.left_out is None else f"no: {self.left_out}"}


def considered(design: Design) -> list[Considered]:
    """Every part of the registry, in its order, with whether the design gets it and why not."""
    return [Considered(p, p.why_not(design)) for p in PARTS]


def parts_for(design: Design) -> list[Part]:
    """The parts a design gets, in the registry's order."""
    return [c.part for c in considered(design) if c.left_out is None]


def composed(design: Design) -> Suite:
    """The design's suite, stage by stage: the designed state, the stories told in order once it holds (a check
    two stories share told once), what runs alongside, then the fault cases from the end of the stories."""
    parts = parts_for(design)
    suite = Suite(design, checked(design))
    for stage in STAGES:
        added = [c for p in parts if p.stage == stage for c in p.checks(suite)]
        if stage == "established":
            suite = replace(suite, base=tuple(added))
        elif stage == "story":
            added = after(suite.base, *chain(*_once(added)))
            suite = replace(suite, ready=tuple(added[-1:]))
        suite = replace(suite, checks=suite.checks + tuple(added))
    return suite


def _once(checks: list[Check]) -> list[Check]:
    """The checks in order, each id once (its first place)."""
    seen: dict[str, Check] = {}
    for check in checks:
        seen.setdefault(check.id, check)
    return list(seen.values())


def suite_for(design: Design) -> list[Check]:
    """The design's checks, in order."""
    return list(composed(design).checks)


def suite_text(design: Design) -> str:
    """What `labkit suite DESIGN` prints: the parts the design's contents select, each check with its deadline
    and what it needs (`designed state`: every check of the first stage), then the entries of the deadline table
    the suite uses (the ones asked for while it is built)."""
    with recording() as used:
        suite = composed(design)
    width = max(len(c.id) for c in suite.checks)
    return "\n".join([
        f"# checks of {design.origin} (lab {design.lab}, {len(design.spokes)} spokes): {len(suite.checks)}",
        "parts (considered: applied, or left out and why):",
        *(f"  {c.part.stage:<11}  {c.part.name}" + (f"\n  {'':<11}    left out: {c.left_out}" if c.left_out else "")
          for c in considered(design)),
        "checks (deadline; needs):",
        *(f"  {c.id:<{width}}  {wait_text(c):>8}  {needs_text(c, suite)}" for c in suite.checks),
        f"deadlines ({len(used)} of {len(TABLE)}: the ones these checks use):",
        *(f"  {line}" for line in table_text(design, used).splitlines()),
    ]) + "\n"


def needs_text(check: Check, suite: Suite) -> str:
    """What a check needs, in short: `designed state` for every check of the first stage."""
    base = tuple(c.id for c in suite.base)
    if not set(base) <= set(check.needs):
        return ", ".join(check.needs) or "-"
    return ", ".join(["designed state", *(n for n in check.needs if n not in base)])


def wait_text(check: Check) -> str:
    """How long a check may take: its deadline, `alone` (a fault case) or `one look`."""
    return "alone" if check.alone else f"{check.deadline_s:g} s" if check.deadline_s else "one look"
