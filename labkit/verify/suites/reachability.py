"""The story every design can tell: its LANs reach each other (all pairs in a small lab, the hubs and a sample
in a large one). It is the story of a design no other story part fits: a cluster (whose fault case tells the
rest), MPLS (whose VPN checks do), a phase 1 cloud of one spoke."""

from __future__ import annotations

from labkit.verify.checks import paths
from labkit.verify.engine import Check
from labkit.verify.suites.part import Part, Suite, always


def _story(suite: Suite) -> list[Check]:
    return [paths.reachability(suite.checked)]


PART = Part("reachability between the LANs", "story", always, _story)
