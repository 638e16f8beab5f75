"""DMVPN phase 3 past the full mesh's size: a bounded sample of spoke pairs builds shortcuts on traffic (none
before, then an NHRP route, one overlay hop, their own SA), then every spoke's LAN reaches the hubs' and the
sampled pairs each other. Each check's cost grows at most linearly with the spokes."""

from __future__ import annotations

from labkit.design.model import Design
from labkit.verify.checks import paths
from labkit.verify.engine import Check
from labkit.verify.suites.part import Part, Suite, one_plain_hub


def _applies(design: Design) -> bool:
    return design.phase == 3 and one_plain_hub(design) and not paths.full_mesh(design)


def _story(suite: Suite) -> list[Check]:
    """The sample's shortcuts are shown absent first: the reachability traffic comes after them."""
    return [paths.sampled_shortcuts(suite.checked), paths.reachability(suite.checked)]


PART = Part("phase 3 at scale: sampled spoke pairs build shortcuts", "story", _applies, _story)
