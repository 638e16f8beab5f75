"""A suite part: one thing a design can contain, when it applies (a predicate on the design) and the checks
that prove it. A suite is told in stages, each part adding to one:

- `established`: the designed state (registrations, SAs, BGP...); every later check needs all of it;
- `story`: the traffic story the design tells, in order, once the designed state holds: its phase's story (on any
  number of hubs, a cluster through its active unit), then what a hub pair adds; every story part that applies,
  told one after the other (a check two parts share is told once);
- `alongside`: checks that run beside the story; each part says what it needs (at least the designed state);
- `faults`: fault cases, each alone, starting from the end of the story.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from labkit.design.model import Design, Site
from labkit.verify.checks.paths import FULL_MESH_MAX_SPOKES
from labkit.verify.engine import Check

Stage = Literal["established", "story", "alongside", "faults"]
STAGES: tuple[Stage, ...] = ("established", "story", "alongside", "faults")
Requirement = Callable[[Design], "str | None"]  # why a design lacks what a part needs; None when it has it


@dataclass(frozen=True)
class Suite:
    """The suite composed so far: what a part builds on."""

    design: Design
    checked: Design  # the design as one hub's checks see it (a cluster: its active unit as the only hub)
    checks: tuple[Check, ...] = ()  # in the suite's order
    base: tuple[Check, ...] = ()  # the designed state: every later check needs it
    ready: tuple[Check, ...] = ()  # the end of the story: fault cases start from there


@dataclass(frozen=True)
class Part:
    """One thing a design can contain: what it needs of the design (each requirement says why not, when not met)
    and the checks that prove it."""

    name: str
    stage: Stage
    requires: tuple[Requirement, ...]
    checks: Callable[[Suite], list[Check]]

    def why_not(self, design: Design) -> str | None:
        """Why the design does not get this part (its first requirement not met); None when it does."""
        return next((why for why in (need(design) for need in self.requires) if why), None)

    def applies(self, design: Design) -> bool:
        return self.why_not(design) is None


def serving(design: Design, unit: Site) -> Design:
    """The design with `unit` as its only hub: a cluster's units are one hub, seen through the one that serves."""
    return dataclasses.replace(design, hubs=(unit,))


def checked(design: Design) -> Design:
    """The design as the checks of one hub see it: a cluster through its active (first) unit."""
    return serving(design, design.hubs[0]) if design.cluster else design


def phase(number: int) -> Requirement:
    def need(design: Design) -> str | None:
        return None if design.phase == number else f"the design is phase {design.phase}, not {number}"

    return need


def spokes(count: int) -> Requirement:
    def need(design: Design) -> str | None:
        return None if len(design.spokes) >= count else f"{len(design.spokes)} spokes, fewer than {count}"

    return need


def full_mesh(design: Design) -> str | None:
    return None if len(design.spokes) <= FULL_MESH_MAX_SPOKES else (
        f"{len(design.spokes)} spokes, more than the full mesh's {FULL_MESH_MAX_SPOKES} (a sample is proved instead)")


def past_full_mesh(design: Design) -> str | None:
    return None if len(design.spokes) > FULL_MESH_MAX_SPOKES else (
        f"{len(design.spokes)} spokes: the full mesh proves every pair")


def direct_pair(design: Design) -> str | None:
    """Two spokes that can build a direct tunnel (not both behind PATs)."""
    return None if any(design.direct_possible(a, b) for a, b in itertools.combinations(design.spokes, 2)) else (
        "fewer than 2 spokes that can reach each other directly")


def hub_pair(design: Design) -> str | None:
    """Two or more hubs, each an NHS of its own (not the units of one cluster)."""
    if design.cluster is not None:
        return "its hubs are the units of one cluster (`cluster:`), one NHS"
    return None if len(design.hubs) > 1 else "one hub"


def clustered(design: Design) -> str | None:
    return None if design.cluster is not None else "no hub cluster (`cluster:`)"


def measured(design: Design) -> str | None:
    """Fault cases can be measured: the design states their loss budget and has the spokes their probes use
    (one to HQ, two across: spoke1, spoke2 and spoke3)."""
    if design.failover is None:
        return "no loss budget to measure against (`failover:`)"
    return spokes(3)(design)


def field(name: str, present: Callable[[Design], object]) -> Requirement:
    """The design has a section `name` (non-empty)."""

    def need(design: Design) -> str | None:
        return None if present(design) else f"no `{name}:` in the design"

    return need


def story_pair(design: Design) -> tuple[Site, Site]:
    """The spokes a story's spoke-to-spoke steps use: the first two, in order, that can build a direct tunnel (not
    both behind PATs; validation keeps a public spoke in a design with shortcuts)."""
    return next((a, b) for a, b in itertools.permutations(design.spokes, 2) if design.direct_possible(a, b))
