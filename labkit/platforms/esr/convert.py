"""How an ESR's outputs become the neutral state model."""

from __future__ import annotations

from ipaddress import IPv4Network

from labkit.platforms.esr.interfaces import short_name
from labkit.platforms.rows import SHARED, ip, state_word
from labkit.verify.state import ChildSa, IkeSa, NhsEntry, Route

# ESR's route codes, as the model's origins (ESR marks NHRP routes H)
ORIGINS = {"C": "connected", "S": "static", "O": "ospf", "B": "bgp", "H": "nhrp", "R": "rip", "I": "isis"}


def _route(r: dict) -> Route:
    """An ESR `show ip route` row: `*` marks a route in the FIB, i.e. installed (selected)."""
    return Route(IPv4Network(r["prefix"]), ORIGINS.get(r["codes"], r["codes"]), bool(r.get("fib")),
                 ip(r.get("nexthop")), short_name(r["interface"]) if r.get("interface") else None)


def _vpn(r: dict) -> IkeSa:
    """An ESR IPsec VPN row: the IKE SA and its one CHILD SA in one line (no counters in this output)."""
    state = state_word(r["state"], "established")
    child = ChildSa(name=r["name"], state=state, mode=r["mode"].lower(), packets_in=0, packets_out=0)
    return IkeSa(r["name"], state, ip(r["local"]), ip(r["remote"]), (child,))


def _nhs(r: dict) -> NhsEntry:
    return NhsEntry(r["interface"], ip(r["nbma"]), ip(r["protocol"]) if r["state"] == "registered" else None)


CONVERTERS = SHARED | {"EsrRoute": ("entries", _route), "EsrNhs": ("entries", _nhs), "EsrVpn": ("ike_sas", _vpn)}
