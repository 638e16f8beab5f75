"""The state every scenario must reach first: registrations, NHS, hub-spoke SAs, BGP (and BFD where the
design has it) and the spokes' routes as the hub advertises them."""

from __future__ import annotations

from labkit.design.model import Design
from labkit.verify.checks import ipsec, nhrp, routing
from labkit.verify.engine import Check


def established(design: Design) -> list[Check]:
    return [
        *(nhrp.hub_registrations(design, h) for h in design.hubs),
        nhrp.spokes_nhs(design),
        ipsec.hub_spoke_sas(design),
        routing.bgp_sessions(design),
        *([routing.bfd_sessions(design)] if design.routing.bfd else []),
        routing.spoke_routes(design),
    ]
