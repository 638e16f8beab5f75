"""The normalised state model: what checks reason about, whatever platform produced it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any

from labkit.verify.esr_interfaces import short_name


@dataclass(frozen=True)
class NhrpEntry:
    interface: str
    kind: str  # dynamic, nhs, local, static...
    protocol: IPv4Address
    nbma: IPv4Address  # where the node reaches the peer (a peer behind a PAT: the PAT's outside address)
    claimed: IPv4Address | None = None  # the NBMA address the peer claims (behind a PAT: its inside one); None: unknown


@dataclass(frozen=True)
class NhsEntry:
    interface: str
    nbma: IPv4Address
    protocol: IPv4Address | None  # None until registered


@dataclass(frozen=True)
class Shortcut:
    prefix: IPv4Network
    via: IPv4Address


@dataclass(frozen=True)
class BgpPeer:
    neighbor: IPv4Address
    remote_as: int
    state: str  # Established, Active, Connect...
    prefixes_received: int | None
    uptime_s: int | None = None  # how long the session has been Established (None: not Established, or not shown)


@dataclass(frozen=True)
class Route:
    prefix: IPv4Network
    protocol: str  # one-letter code: B, N, C, K, S...
    selected: bool
    nexthop: IPv4Address | None
    interface: str | None
    labels: tuple[int, ...] = ()  # the MPLS label stack the route pushes (VPN routes)


@dataclass(frozen=True)
class ChildSa:
    name: str
    state: str
    mode: str
    packets_in: int
    packets_out: int
    spi_in: str | None = None  # the inbound SPI (hex): a rekey replaces it
    udp_encap: bool = False  # ESP in UDP (NAT traversal): strongSwan prints the mode as TRANSPORT-in-UDP


@dataclass(frozen=True)
class IkeSa:
    name: str
    state: str
    local: IPv4Address
    remote: IPv4Address
    children: tuple[ChildSa, ...] = field(default=())
    remote_port: int | None = None  # the peer's IKE port: 500, or 4500 (or a PAT's) once NAT was detected


@dataclass(frozen=True)
class PingResult:
    sent: int
    received: int
    told_mtu: int | None = None  # with DF set: the smallest path MTU the sender was told (own stack or a router)


def _ping(r: dict) -> PingResult:
    if "result" not in r and "refused" in r:  # no route: nothing sent
        return PingResult(0, 0, None)
    told = r.get("told", [])
    told = [told] if isinstance(told, dict) else told
    return PingResult(int(r["result"]["sent"]), int(r["result"]["received"]),
                      min((int(t["mtu"]) for t in told), default=None))


@dataclass(frozen=True)
class RouteLookup:
    """Where the kernel would send a packet: `path` (next hop, interface...) or, when it would not, why."""

    path: str | None
    refused: str | None


@dataclass(frozen=True)
class ProbeResult:
    """A continuous probe: how many packets went out, and the sequence numbers that were answered."""

    sent: int
    answered: tuple[int, ...]  # icmp_seq of each reply, in arrival order

    @property
    def lost(self) -> int:
        return self.sent - len(set(self.answered))

    def longest_gap(self) -> int:
        """The longest run of consecutive unanswered packets."""
        seen = set(self.answered)
        longest = run = 0
        for seq in range(1, self.sent + 1):
            run = 0 if seq in seen else run + 1
            longest = max(longest, run)
        return longest

    def ended_early(self, in_flight: int) -> ProbeResult:
        """The probe as if its last packets, sent after its last reply and at most `in_flight` of them, had not been
        sent: a probe stopped early ends before their replies could come back."""
        last = max(self.answered, default=0)
        return replace(self, sent=max(last, self.sent - in_flight))

    def tail_answered(self, packets: int) -> float:
        """The share of the last `packets` packets that were answered (does traffic flow at the end?)."""
        seen = set(self.answered)
        tail = range(max(1, self.sent - packets + 1), self.sent + 1)
        return sum(1 for s in tail if s in seen) / len(tail) if self.sent else 0.0


@dataclass(frozen=True)
class Address:
    interface: str
    address: IPv4Interface


@dataclass(frozen=True)
class Link:
    """A network interface: its name (without the device a tunnel is bound to) and flags."""

    name: str
    flags: tuple[str, ...]

    @property
    def up(self) -> bool:
        """Set up and with carrier: nothing in the interface's state shows a problem."""
        return {"UP", "LOWER_UP"} <= set(self.flags)


@dataclass(frozen=True)
class BfdPeer:
    peer: IPv4Address
    local: IPv4Address | None
    status: str  # up, down, init...


@dataclass(frozen=True)
class Hop:
    address: IPv4Address | None  # None for a hop that did not answer


@dataclass(frozen=True)
class Packet:
    src: IPv4Address
    dst: IPv4Address
    proto: str  # ESP or GRE


@dataclass(frozen=True)
class Syn:
    """A TCP SYN seen on an interface: its endpoints (without ports) and the MSS it offers (None: no option)."""

    src: IPv4Address
    dst: IPv4Address
    mss: int | None


@dataclass(frozen=True)
class LabelledPacket:
    """A packet seen on a tunnel interface: its MPLS label stack (empty for plain IP) and inner addresses."""

    direction: str  # In or Out
    labels: tuple[int, ...]
    src: IPv4Address
    dst: IPv4Address


def _ip(value: Any) -> IPv4Address | None:
    return IPv4Address(value.lstrip("*")) if value and value != "*" else None


UDP_ENCAP = "-in-UDP"  # swanctl's suffix to the mode of a UDP-encapsulated CHILD SA (commands/list_sas.c)


def _children(rows: list[dict]) -> tuple[ChildSa, ...]:
    return tuple(
        ChildSa(name=r["name"], state=r["state"], mode=r["mode"].removesuffix(UDP_ENCAP),
                packets_in=int(r.get("packets_in", 0)), packets_out=int(r.get("packets_out", 0)),
                spi_in=r.get("spi_in"), udp_encap=r["mode"].endswith(UDP_ENCAP))
        for r in rows
    )


def _ike_sa(r: dict) -> IkeSa:
    return IkeSa(r["name"], r["state"], _ip(r["local"]), _ip(r["remote"]), _children(r.get("children", [])),
                 int(r["remote_port"]) if r.get("remote_port") else None)


def _bgp_peer(r: dict) -> BgpPeer:
    state_pfx = r["state_pfx"]
    established = state_pfx.isdigit()
    return BgpPeer(neighbor=_ip(r["neighbor"]), remote_as=int(r["remote_as"]),
                   state="Established" if established else state_pfx,
                   prefixes_received=int(state_pfx) if established else None,
                   uptime_s=up_down_s(r.get("up_down", "")) if established else None)


# the Up/Down column: ESR `dd,hh:mm:ss`; FRR `hh:mm:ss` under a day, then `1d02h03m`, `02w1d03h`, `01y02w3d`
# (bgpd.c peer_uptime)
_CLOCK = re.compile(r"(?:(\d+),)?(\d+):(\d+):(\d+)")
_UNITS = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")
_UNIT_S = (365 * 86400, 7 * 86400, 86400, 3600, 60)


def up_down_s(text: str) -> int | None:
    """Seconds in a BGP summary's Up/Down column; None for a form it does not take (`never`)."""
    if clock := _CLOCK.fullmatch(text):
        days, hours, minutes, seconds = (int(g or 0) for g in clock.groups())
        return ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    units = _UNITS.fullmatch(text)
    if not text or units is None:
        return None
    return sum(int(g or 0) * unit for g, unit in zip(units.groups(), _UNIT_S, strict=True))


def _route(r: dict) -> Route:
    codes = r["codes"]
    return Route(prefix=IPv4Network(r["prefix"]), protocol=codes[0], selected=">" in codes,
                 nexthop=_ip(r.get("nexthop")), interface=r.get("interface"), labels=_labels(r.get("labels")))


def _labels(value: str | None) -> tuple[int, ...]:
    return tuple(int(label) for label in value.split("/")) if value else ()


def _labelled(r: dict) -> LabelledPacket:
    labels = tuple(int(label) for label in re.findall(r"label (\d+)", r.get("stack", "")))
    return LabelledPacket(direction=r["direction"], labels=labels, src=_ip(r["src"]), dst=_ip(r["dst"]))


def _packet(r: dict) -> Packet:
    proto = "ESP" if r["proto"].startswith("ESP") else "GRE" if r["proto"].startswith("GRE") else r["proto"]
    return Packet(src=_ip(r["src"]), dst=_ip(r["dst"]), proto=proto)


def _endpoint_address(endpoint: str) -> IPv4Address:
    """The address of a TCP endpoint as tcpdump prints it (ADDRESS.PORT)."""
    return IPv4Address(endpoint.rsplit(".", 1)[0])


def _syn(r: dict) -> Syn:
    return Syn(_endpoint_address(r["src"]), _endpoint_address(r["dst"]), int(r["mss"]) if "mss" in r else None)


def _probe(r: dict) -> ProbeResult:
    replies = r.get("replies", [])
    replies = [replies] if isinstance(replies, dict) else replies
    return ProbeResult(sent=int(r["result"]["sent"]), answered=tuple(int(x["seq"]) for x in replies))


ESR_ROUTE_CODES = {"H": "N"}  # ESR marks NHRP routes H, FRR (the model's letters) N


def _route_lookup(r: dict) -> RouteLookup:
    path = r["route"]["path"] if "route" in r else f"local {r['local']['path']}" if "local" in r else None
    return RouteLookup(path and path.strip(), r["refused"]["reason"] if "refused" in r else None)


def _esr_route(r: dict) -> Route:
    """An ESR `show ip route` row: `*` marks a route in the FIB, i.e. installed (selected)."""
    return Route(IPv4Network(r["prefix"]), ESR_ROUTE_CODES.get(r["codes"], r["codes"]), bool(r.get("fib")),
                 _ip(r.get("nexthop")), short_name(r["interface"]) if r.get("interface") else None)


def _esr_vpn(r: dict) -> IkeSa:
    """An ESR IPsec VPN row: the IKE SA and its one CHILD SA in one line (no counters in this output)."""
    up = r["state"].lower() == "established"
    child = ChildSa(name=r["name"], state="INSTALLED" if up else r["state"].upper(), mode=r["mode"].upper(),
                    packets_in=0, packets_out=0)
    return IkeSa(r["name"], r["state"].upper(), _ip(r["local"]), _ip(r["remote"]), (child,))


# How a parsed row (TTP's dict of strings) becomes a model object; rows key is the TTP group holding them
# (None: the whole parsed output is one row).
CONVERTERS: dict[str, tuple[str | None, Any]] = {
    "ProbeResult": (None, _probe),
    "RouteLookup": (None, _route_lookup),
    "Address": ("entries", lambda r: Address(r["interface"], IPv4Interface(r["address"]))),
    "Link": ("links", lambda r: Link(r["name"].split("@")[0], tuple(r["flags"].split(",")))),
    "BfdPeer": ("entries", lambda r: BfdPeer(_ip(r["peer"]), _ip(r.get("local")), r["status"])),
    "NhrpEntry": ("entries", lambda r: NhrpEntry(r["interface"], r["kind"], _ip(r["protocol"]), _ip(r["nbma"]),
                                                 _ip(r.get("claimed_nbma")))),
    "NhsEntry": ("entries", lambda r: NhsEntry(r["interface"], _ip(r["nbma"]), _ip(r.get("protocol")))),
    "Shortcut": ("entries", lambda r: Shortcut(IPv4Network(r["prefix"]), _ip(r["via"]))),
    "BgpPeer": ("entries", _bgp_peer),
    "Route": ("entries", _route),
    "EsrRoute": ("entries", _esr_route),
    "EsrNhs": ("entries", lambda r: NhsEntry(r["interface"], _ip(r["nbma"]),
                                             _ip(r["protocol"]) if r["state"] == "registered" else None)),
    "EsrVpn": ("ike_sas", _esr_vpn),
    "IkeSa": ("ike_sas", _ike_sa),
    "PingResult": (None, _ping),
    "Hop": ("hops", lambda r: Hop(_ip(r["address"]))),
    "Packet": ("packets", _packet),
    "LabelledPacket": ("packets", _labelled),
    "Syn": ("packets", _syn),
}


def to_models(model: str, parsed: dict) -> list:
    """Model objects from one parsed output (rows may be one dict or a list, as TTP gives them)."""
    key, convert = CONVERTERS[model]
    rows = parsed if key is None else parsed.get(key, [])
    rows = [rows] if isinstance(rows, dict) else rows
    return [convert(row) for row in rows]


def as_dict(obj: Any) -> Any:
    """JSON-ready form of model objects, for evidence files."""
    if hasattr(obj, "__dataclass_fields__"):
        return {f.name: as_dict(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [as_dict(o) for o in obj]
    if isinstance(obj, (IPv4Address, IPv4Interface, IPv4Network)):
        return str(obj)
    return obj
