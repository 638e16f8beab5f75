"""DMVPN phase 1: spoke-to-spoke traffic crosses the hub, and however much of it flows, no spoke ever learns
another spoke or builds an SA to it."""

from __future__ import annotations

from labkit.verify.checks import nhrp, paths
from labkit.verify.engine import Check
from labkit.verify.suites.part import Part, Suite, phase, spokes


def _story(suite: Suite) -> list[Check]:
    """Spoke-spoke traffic in every form, then proof that none of it made spokes peer."""
    design = suite.checked
    src, dst = design.spokes[0], design.spokes[1]
    return [paths.path_via_hub(design, src, dst), paths.sustained_traffic(design, src, dst),
            paths.reachability(design), nhrp.no_spoke_peering(design)]


PART = Part("phase 1: spoke-to-spoke traffic via the hub, no spoke peering", "story", (phase(1), spokes(2)), _story)
