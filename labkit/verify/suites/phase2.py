"""DMVPN phase 2: no spoke-to-spoke NHRP entry or SA exists before traffic, both exist after it, and the path
is then direct (one overlay hop) and only ESP on the wire between the two; the full mesh last, as it builds every
tunnel."""

from __future__ import annotations

from labkit.verify.checks import ipsec, nhrp, paths
from labkit.verify.engine import Check
from labkit.verify.suites.part import Part, Suite, direct_pair, phase, story_pair


def _story(suite: Suite) -> list[Check]:
    design = suite.checked
    src, dst = story_pair(design)
    return [nhrp.no_tunnel_yet(src, dst), nhrp.tunnel_on_demand(design, src, dst), paths.direct_path(design, src, dst),
            ipsec.transport_sees_only_esp(design, src, dst), paths.reachability(design)]


PART = Part("phase 2: a spoke-to-spoke tunnel on demand", "story", (phase(2), direct_pair), _story)
