"""DMVPN phase 3: the redirect/shortcut story between two spokes, told in order (absent, via hub, installed,
direct, own SA, only ESP on the wire between them), the full mesh (which uses that shortcut), then the shortcut
purged once idle. With a hub pair the spokes' traffic crosses whichever hub their routes choose, and that hub
redirects; a cluster tells it through its active unit."""

from __future__ import annotations

from labkit.verify.checks import ipsec, nhrp, paths
from labkit.verify.engine import Check
from labkit.verify.suites.part import Part, Suite, direct_pair, full_mesh, phase, story_pair


def _story(suite: Suite) -> list[Check]:
    design = suite.checked
    src, dst = story_pair(design)
    return [
        nhrp.shortcut_absent(design, src, dst, clear_first=True),
        paths.path_via_hub(design, src, dst),
        paths.shortcut_installed(design, src, dst),
        paths.direct_path(design, src, dst),
        ipsec.spoke_spoke_sa(design, src, dst),
        ipsec.transport_sees_only_esp(design, src, dst),
        paths.reachability(design),
        nhrp.shortcut_absent(design, src, dst, clear_first=False),
    ]


PART = Part("phase 3: redirect and shortcut between two spokes, purged when idle", "story",
            (phase(3), full_mesh, direct_pair), _story)
