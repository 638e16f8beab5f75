"""DMVPN phase 3 past the full mesh's size: a bounded sample of spoke pairs builds shortcuts on traffic (none
before, then an NHRP route, one overlay hop, their own SA), then every spoke's LAN reaches the hubs' and the
sampled pairs each other. Each check's cost grows at most linearly with the spokes."""

from __future__ import annotations

from labkit.verify.checks import ipsec, paths
from labkit.verify.engine import Check
from labkit.verify.suites.part import Part, Suite, past_full_mesh, phase


def _story(suite: Suite) -> list[Check]:
    """The sample's shortcuts are shown absent first: the reachability traffic comes after them; the first sampled
    pair's traffic is then seen on the wire as ESP only."""
    design = suite.checked
    first = paths.sample_pairs(design)[0]
    return [paths.sampled_shortcuts(design), ipsec.transport_sees_only_esp(design, *first),
            paths.reachability(design)]


PART = Part("phase 3 at scale: sampled spoke pairs build shortcuts", "story", (phase(3), past_full_mesh), _story)
