"""MPLS L3VPN over DMVPN: the DMVPN cloud in its designed state, then VPNv4 sessions, labelled routes in
each VRF, same-VRF reachability between every pair of sites, isolation between the VRFs and from the
global table, and spoke-to-spoke VPN traffic through the hub, labelled in the tunnel and ESP outside."""

from __future__ import annotations

from labkit.design.model import Design
from labkit.verify.checks import mpls, paths
from labkit.verify.engine import Check
from labkit.verify.schedule import after, chain
from labkit.verify.suites import baseline


def checks(design: Design) -> list[Check]:
    src, dst = design.spokes[0], design.spokes[1]
    base = baseline.established(design)
    routes = after(base, *chain(mpls.vpn_sessions(design), mpls.vrf_routes(design)))
    return [
        *base,
        *after(base, paths.reachability(design)),
        *routes,
        # with the VRF routes in place, what they must and must not carry, side by side
        *after(routes[-1:], mpls.no_leaks(design), *(mpls.vrf_reachability(design, vrf) for vrf in design.mpls.vrfs),
               mpls.isolation(design),
               *(mpls.labels_on_the_wire(design, vrf, src, dst) for vrf in design.mpls.vrfs)),
    ]
