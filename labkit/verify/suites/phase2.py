"""DMVPN phase 2: routing keeps each spoke LAN's own spoke as next hop; no spoke-to-spoke NHRP entry or SA
exists before traffic, both exist after it, and the path is then direct (one overlay hop)."""

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
        # the spoke-spoke tunnel story in order; the full mesh last, as it builds every tunnel
        *after(base, *chain(nhrp.no_tunnel_yet(src, dst), nhrp.tunnel_on_demand(src, dst),
                            paths.direct_path(src, dst), paths.reachability(design))),
        # spoke-hub traffic builds no spoke-spoke tunnel: alongside the story
        *after(base, ipsec.esp_counters_grow(src, hub), ipsec.transport_sees_only_esp(design, src, hub)),
    ]
