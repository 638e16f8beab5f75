"""MPLS L3VPN over DMVPN: VPNv4 sessions, labelled routes in each VRF, same-VRF reachability between every pair
of sites, isolation between the VRFs and from the global table, and spoke-to-spoke VPN traffic through the hub,
labelled in the tunnel and ESP outside."""

from __future__ import annotations

from labkit.verify.checks import mpls
from labkit.verify.engine import Check
from labkit.verify.schedule import after, chain
from labkit.verify.suites.part import Part, Suite, field


def _checks(suite: Suite) -> list[Check]:
    design = suite.checked
    pair = design.spokes[:2]  # spoke-to-spoke VPN traffic, where there are two spokes
    routes = after(suite.base, *chain(mpls.vpn_sessions(design), mpls.vrf_routes(design)))
    return [
        *routes,
        # with the VRF routes in place, what they must and must not carry, side by side
        *after(routes[-1:], mpls.no_leaks(design), *(mpls.vrf_reachability(design, vrf) for vrf in design.mpls.vrfs),
               mpls.isolation(design),
               *(mpls.labels_on_the_wire(design, vrf, *pair) for vrf in design.mpls.vrfs if len(pair) == 2)),
    ]


PART = Part("MPLS L3VPN: VPNv4, VRF routes, reachability, isolation, labels on the wire", "alongside",
            (field("mpls", lambda design: design.mpls),), _checks)
