"""DMVPN phase 2: no spoke-to-spoke NHRP entry or SA exists before traffic, both exist after it, and the path
is then direct (one overlay hop); the full mesh last, as it builds every tunnel."""

from __future__ import annotations

from labkit.design.model import Design
from labkit.verify.checks import nhrp, paths
from labkit.verify.engine import Check
from labkit.verify.suites.part import Part, Suite, one_plain_hub, story_pair


def _applies(design: Design) -> bool:
    return design.phase == 2 and one_plain_hub(design)


def _story(suite: Suite) -> list[Check]:
    design = suite.checked
    src, dst = story_pair(design)
    return [nhrp.no_tunnel_yet(src, dst), nhrp.tunnel_on_demand(design, src, dst), paths.direct_path(design, src, dst),
            paths.reachability(design)]


PART = Part("phase 2: a spoke-to-spoke tunnel on demand", "story", _applies, _story)
