"""The state every design must reach first: registrations, NHS, hub-spoke SAs, BGP (and BFD where the design
has it), the spokes' routes as the hub advertises them and the hubs' routes back to each spoke LAN. Every later
check of a suite needs them."""

from __future__ import annotations

from labkit.design.model import Design
from labkit.verify.checks import ipsec, nhrp, routing
from labkit.verify.engine import Check
from labkit.verify.schedule import after
from labkit.verify.suites.part import Part, Suite


def established(design: Design) -> list[Check]:
    """Independent of each other (they run at once), but the spokes' routes need BGP up."""
    sessions = [routing.bgp_sessions(design), *([routing.bfd_sessions(design)] if design.routing.bfd else [])]
    return [
        *(nhrp.hub_registrations(design, h) for h in design.hubs),
        nhrp.spokes_nhs(design),
        ipsec.hub_spoke_sas(design),
        *sessions,
        *after(sessions[:1], routing.spoke_routes(design), routing.hub_routes(design)),
    ]


def _checks(suite: Suite) -> list[Check]:
    return established(suite.checked)


PART = Part("designed state: registrations, NHS, hub-spoke SAs, BGP (BFD), spoke and hub routes", "established", (),
            _checks)
