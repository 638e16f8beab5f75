"""How the stand-in's outputs (vtysh, swanctl, ip, ping, traceroute, tcpdump) become the neutral state model."""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from labkit.platforms.rows import SHARED, ip, state_word
from labkit.verify.state import (
    Address,
    BfdPeer,
    ChildSa,
    Hop,
    IkeSa,
    LabelledPacket,
    Link,
    NhsEntry,
    Packet,
    ProbeResult,
    Route,
    RouteLookup,
    Shortcut,
    Syn,
)

# zebra's route codes (`show ip route` legend), as the model's origins
ORIGINS = {"K": "kernel", "C": "connected", "L": "local", "S": "static", "R": "rip", "O": "ospf", "I": "isis",
           "B": "bgp", "E": "eigrp", "N": "nhrp", "T": "table", "A": "babel", "D": "sharp", "F": "pbr",
           "f": "openfabric", "Z": "vnc-direct", "v": "vnc"}
UDP_ENCAP = "-in-UDP"  # swanctl's suffix to the mode of a UDP-encapsulated CHILD SA (commands/list_sas.c)


def _children(rows: list[dict]) -> tuple[ChildSa, ...]:
    return tuple(
        ChildSa(name=r["name"], state=state_word(r["state"], "INSTALLED"),
                mode=r["mode"].removesuffix(UDP_ENCAP).lower(),
                packets_in=int(r.get("packets_in", 0)), packets_out=int(r.get("packets_out", 0)),
                spi_in=r.get("spi_in"), udp_encap=r["mode"].endswith(UDP_ENCAP))
        for r in rows
    )


def _ike_sa(r: dict) -> IkeSa:
    return IkeSa(r["name"], state_word(r["state"], "ESTABLISHED"), ip(r["local"]), ip(r["remote"]),
                 _children(r.get("children", [])), int(r["remote_port"]) if r.get("remote_port") else None)


def _route(r: dict) -> Route:
    codes = r["codes"]
    return Route(prefix=IPv4Network(r["prefix"]), origin=ORIGINS.get(codes[0], codes[0]), selected=">" in codes,
                 nexthop=ip(r.get("nexthop")), interface=r.get("interface"), labels=_labels(r.get("labels")))


def _labels(value: str | None) -> tuple[int, ...]:
    return tuple(int(label) for label in value.split("/")) if value else ()


def _labelled(r: dict) -> LabelledPacket:
    labels = tuple(int(label) for label in re.findall(r"label (\d+)", r.get("stack", "")))
    return LabelledPacket(direction=r["direction"].lower(), labels=labels, src=ip(r["src"]), dst=ip(r["dst"]))


def _packet(r: dict) -> Packet:
    proto = "ESP" if r["proto"].startswith("ESP") else "GRE" if r["proto"].startswith("GRE") else r["proto"]
    return Packet(src=ip(r["src"]), dst=ip(r["dst"]), proto=proto)


def _endpoint_address(endpoint: str) -> IPv4Address:
    """The address of a TCP endpoint as tcpdump prints it (ADDRESS.PORT)."""
    return IPv4Address(endpoint.rsplit(".", 1)[0])


def _syn(r: dict) -> Syn:
    return Syn(_endpoint_address(r["src"]), _endpoint_address(r["dst"]), int(r["mss"]) if "mss" in r else None)


def _probe(r: dict) -> ProbeResult:
    replies = r.get("replies", [])
    replies = [replies] if isinstance(replies, dict) else replies
    return ProbeResult(sent=int(r["result"]["sent"]), answered=tuple(int(x["seq"]) for x in replies))


def _route_lookup(r: dict) -> RouteLookup:
    path = r["route"]["path"] if "route" in r else f"local {r['local']['path']}" if "local" in r else None
    return RouteLookup(path and path.strip(), r["refused"]["reason"] if "refused" in r else None)


# How a parsed row (TTP's dict of strings) becomes a model object, by the model a fact names in platform.yml; the
# key is the TTP group holding the rows (None: the whole parsed output is one row).
CONVERTERS = SHARED | {
    "ProbeResult": (None, _probe),
    "RouteLookup": (None, _route_lookup),
    "Address": ("entries", lambda r: Address(r["interface"], IPv4Interface(r["address"]))),
    "Link": ("links", lambda r: Link(r["name"].split("@")[0], tuple(r["flags"].split(",")))),
    "BfdPeer": ("entries", lambda r: BfdPeer(ip(r["peer"]), ip(r.get("local")), r["status"].lower())),
    "NhsEntry": ("entries", lambda r: NhsEntry(r["interface"], ip(r["nbma"]), ip(r.get("protocol")))),
    "Shortcut": ("entries", lambda r: Shortcut(IPv4Network(r["prefix"]), ip(r["via"]))),
    "Route": ("entries", _route),
    "IkeSa": ("ike_sas", _ike_sa),
    "Hop": ("hops", lambda r: Hop(ip(r["address"]))),
    "Packet": ("packets", _packet),
    "LabelledPacket": ("packets", _labelled),
    "Syn": ("packets", _syn),
}
