"""The normalised state model: what checks reason about, whatever platform produced it, in its own words: a session
or SA that is up is `up` (UP), whatever the platform calls it; any other state is the platform's word in lower case;
a route's origin is a protocol's name (`bgp`, `nhrp`, `connected`...). Platforms convert their outputs to it
(labkit/platforms/<package>/convert.py)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any

from labkit.platforms import converters

UP = "up"


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
    state: str  # up (Established), active, connect, idle...
    prefixes_received: int | None
    uptime_s: int | None = None  # how long the session has been up (None: not up, or not shown)


@dataclass(frozen=True)
class Route:
    prefix: IPv4Network
    origin: str  # the protocol it came from: bgp, nhrp, connected, static, kernel...
    selected: bool
    nexthop: IPv4Address | None
    interface: str | None
    labels: tuple[int, ...] = ()  # the MPLS label stack the route pushes (VPN routes)


@dataclass(frozen=True)
class ChildSa:
    name: str
    state: str  # up (installed), rekeying, deleting...
    mode: str  # transport or tunnel
    packets_in: int
    packets_out: int
    spi_in: str | None = None  # the inbound SPI (hex): a rekey replaces it
    udp_encap: bool = False  # ESP in UDP (NAT traversal)


@dataclass(frozen=True)
class IkeSa:
    name: str
    state: str  # up (established), connecting, rekeying, deleting...
    local: IPv4Address
    remote: IPv4Address
    children: tuple[ChildSa, ...] = field(default=())
    remote_port: int | None = None  # the peer's IKE port: 500, or 4500 (or a PAT's) once NAT was detected


@dataclass(frozen=True)
class PingResult:
    sent: int
    received: int
    told_mtu: int | None = None  # with DF set: the smallest path MTU the sender was told (own stack or a router)


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

    direction: str  # in or out
    labels: tuple[int, ...]
    src: IPv4Address
    dst: IPv4Address


def to_models(model: str, parsed: dict) -> list:
    """Model objects from one parsed output (rows may be one dict or a list, as TTP gives them), by the converter
    of the state model `model` a platform's fact names."""
    key, convert = converters()[model]
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
