"""DMVPN phase 1: registration, IPsec and routing with the hub as every next hop; spoke-to-spoke traffic
crosses the hub, and however much of it flows, no spoke ever learns another spoke or builds an SA to it."""

from __future__ import annotations

from labkit.design.model import Design
from labkit.verify.checks import ipsec, nhrp, paths
from labkit.verify.engine import Check
from labkit.verify.schedule import after, chain
from labkit.verify.suites import baseline


def checks(design: Design) -> list[Check]:
    hub = design.hubs[0]
    src, dst = design.spokes[0], design.spokes[1]
    base = baseline.established(design)
    return [
        *base,
        # spoke-spoke traffic in every form, then proof that none of it made spokes peer
        *after(base, *chain(paths.path_via_hub(design, src, dst), paths.sustained_traffic(src, dst),
                            paths.reachability(design), nhrp.no_spoke_peering(design))),
        *after(base, ipsec.esp_counters_grow(src, hub), ipsec.transport_sees_only_esp(design, src, hub)),
    ]
