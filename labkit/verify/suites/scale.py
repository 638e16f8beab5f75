"""DMVPN phase 3 at scale: every spoke registered, with its SAs, BGP session and routes; every spoke's LAN
reaching the hub's; a bounded sample of spoke pairs building shortcuts on traffic and reaching each other;
ESP only on the wire. Each check's cost grows at most linearly with the spokes (up to 3 spokes the LANs are
checked as a full mesh, as in every scenario)."""

from __future__ import annotations

from labkit.design.model import Design
from labkit.verify.checks import ipsec, paths
from labkit.verify.engine import Check
from labkit.verify.schedule import after, chain
from labkit.verify.suites import baseline


def checks(design: Design) -> list[Check]:
    base = baseline.established(design)
    return [
        *base,
        # the sample's shortcuts are shown absent first: the reachability traffic comes after them
        *after(base, *chain(paths.sampled_shortcuts(design), paths.reachability(design))),
        *after(base, ipsec.transport_sees_only_esp(design, design.spokes[0], design.hubs[0])),
    ]
