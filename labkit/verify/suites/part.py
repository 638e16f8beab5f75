"""A suite part: one thing a design can contain, when it applies (a predicate on the design) and the checks
that prove it. A suite is told in stages, each part adding to one:

- `established`: the designed state (registrations, SAs, BGP...); every later check needs all of it;
- `story`: the traffic story the design tells, in order, once the designed state holds; a design tells one,
  that of the first story part that applies (the registry's last one applies to every design);
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
from labkit.verify.engine import Check

Stage = Literal["established", "story", "alongside", "faults"]
STAGES: tuple[Stage, ...] = ("established", "story", "alongside", "faults")


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
    name: str
    stage: Stage
    applies: Callable[[Design], bool]
    checks: Callable[[Suite], list[Check]]


def serving(design: Design, unit: Site) -> Design:
    """The design with `unit` as its only hub: a cluster's units are one hub, seen through the one that serves."""
    return dataclasses.replace(design, hubs=(unit,))


def checked(design: Design) -> Design:
    """The design as the checks of one hub see it: a cluster through its active (first) unit."""
    return serving(design, design.hubs[0]) if design.cluster else design


def always(design: Design) -> bool:
    return True


def one_plain_hub(design: Design) -> bool:
    """One hub and no VPN services: the DMVPN cloud on its own, whose phase makes the spoke-to-spoke story."""
    return len(design.hubs) == 1 and design.mpls is None


def hub_pair(design: Design) -> bool:
    """Two or more hubs, each an NHS of its own (not the units of one cluster)."""
    return len(design.hubs) > 1 and design.cluster is None


def measured(design: Design) -> bool:
    """Fault cases can be measured: the design states their loss budget and has the spokes their probes use
    (one to HQ, two across: spoke1, spoke2 and spoke3)."""
    return design.failover is not None and len(design.spokes) >= 3


def story_pair(design: Design) -> tuple[Site, Site]:
    """The spokes a story's spoke-to-spoke steps use: the first two, in order, that can build a direct tunnel (not
    both behind PATs; validation keeps a public spoke in a design with shortcuts)."""
    return next((a, b) for a, b in itertools.permutations(design.spokes, 2) if design.direct_possible(a, b))
