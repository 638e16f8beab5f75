"""DMVPN phase 3: the redirect/shortcut story between two spokes, told in order (absent, via hub, installed,
direct, own SA), the full mesh (which uses that shortcut), then the shortcut purged once idle."""

from __future__ import annotations

from labkit.design.model import Design
from labkit.verify.checks import ipsec, nhrp, paths
from labkit.verify.engine import Check
from labkit.verify.suites.part import Part, Suite, one_plain_hub, story_pair


def _applies(design: Design) -> bool:
    return design.phase == 3 and one_plain_hub(design) and paths.full_mesh(design)


def _story(suite: Suite) -> list[Check]:
    design = suite.checked
    src, dst = story_pair(design)
    return [
        nhrp.shortcut_absent(design, src, dst, clear_first=True),
        paths.path_via_hub(design, src, dst),
        paths.shortcut_installed(design, src, dst),
        paths.direct_path(design, src, dst),
        ipsec.spoke_spoke_sa(design, src, dst),
        paths.reachability(design),
        nhrp.shortcut_absent(design, src, dst, clear_first=False),
    ]


PART = Part("phase 3: redirect and shortcut between two spokes, purged when idle", "story", _applies, _story)
