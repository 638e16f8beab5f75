"""What is decided about each node, as frozen data; templates, lint and checks read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the lab platform's, made by it (labkit.platforms.lab_stand_in)
    from labkit.platforms import StandIn

# metadata of a field `labkit plan` prints only when it is set: plans of designs leaving it unset read as before
PRINTED_IF_SET = "printed_if_set"
IF_SET = {PRINTED_IF_SET: True}


@dataclass(frozen=True)
class NhsPlan:
    """A next-hop server a spoke registers with: its tunnel and NBMA address."""

    name: str
    tunnel: IPv4Address
    nbma: IPv4Address


@dataclass(frozen=True)
class NhrpPlan:
    """The NHRP knobs of the node's mGRE tunnel, as a real ESR gets them."""

    network_id: int
    holdtime: int
    refresh_s: int  # a registered node registers again every third of the holdtime (RFC 2332 5.2.3, FRR and ESR)
    nhs: tuple[NhsPlan, ...]  # empty on a hub
    multicast: Literal["dynamic", "nhs"]  # `dynamic` on hubs and spokes alike: what real ESR spokes carry
    redirect: bool
    shortcut: bool


@dataclass(frozen=True)
class IpsecBinding:
    """One `ip nhrp ipsec VPN static|dynamic` binding and the peers its IKE gateway accepts."""

    vpn: str
    kind: Literal["static", "dynamic"]
    remote_networks: tuple[IPv4Network, ...]  # empty: `remote network any`
    reason: str


@dataclass(frozen=True, kw_only=True)
class SessionOptions:
    """What a BGP session carries, to one neighbour or to every member of a peer group."""

    update_source: IPv4Address
    route_reflector_client: bool
    next_hop_self: bool
    default_originate: bool
    vpnv4: bool
    bfd: bool


@dataclass(frozen=True, kw_only=True)
class BgpSession(SessionOptions):
    """One explicit BGP neighbour of the node."""

    name: str
    peer: Literal["hub", "core"]
    address: IPv4Address


@dataclass(frozen=True, kw_only=True)
class SpokeGroup(SessionOptions):
    """A hub's one BGP peer group for every spoke: it takes a session from any address of `listen_range`
    (the tunnel network), so that adding a spoke changes nothing on the hub."""

    name: str
    listen_range: IPv4Network


@dataclass(frozen=True)
class BfdTimers:
    """BFD beside the node's BGP sessions: a neighbour is down after `multiplier` packets `interval_ms` apart are
    missed, `detect_ms` in all."""

    interval_ms: int
    multiplier: int
    detect_ms: int


@dataclass(frozen=True)
class BgpPlan:
    """The node's BGP speaker: identity, timers, what it advertises, its sessions."""

    asn: int
    router_id: IPv4Address
    keepalive: int
    holdtime: int
    networks: tuple[IPv4Network, ...]
    aggregate: IPv4Network | None  # summary-only aggregate of the spoke LANs
    sessions: tuple[BgpSession, ...]  # explicit neighbours: a spoke's hubs; a hub's other hubs and HQ core
    spoke_group: SpokeGroup | None  # hubs: every spoke, through one listen range
    bfd: BfdTimers | None = field(metadata=IF_SET)  # the timers of the sessions with BFD; None: no BFD


@dataclass(frozen=True)
class VrfPlan:
    """One L3VPN service on the node."""

    name: str
    id: int
    rd: str
    route_target: str
    lan: IPv4Interface
    aggregate: IPv4Network | None  # the hub summarises the spokes' LANs of the VRF


@dataclass(frozen=True)
class ClusterUnit:
    """A unit of the ESR 1+1 cluster: its number, its node and its VRRP priority."""

    number: int
    name: str
    priority: int  # in every VRRP group: unit 1 is the active unit


@dataclass(frozen=True)
class BridgeMember:
    """A unit's part in a bridge of the cluster: its port in the bridge's VLAN and its own address there."""

    unit: int
    port: str  # named for the unit: unit N's ports are N/0/P
    address: IPv4Interface


@dataclass(frozen=True)
class ClusterBridge:
    """A bridge of the cluster (WAN, HQ segment or cluster sync): a VLAN joining each unit's port, the units'
    addresses (an ESR cluster keeps per-unit addresses on bridges, not on ports) and the address the active unit
    holds by VRRP."""

    number: int  # the bridge's and its VLAN's
    description: str
    zone: str | None  # its security zone; None: the firewall is off on it
    members: tuple[BridgeMember, ...]  # in unit order
    vrrp_id: int
    vip: IPv4Interface


@dataclass(frozen=True)
class ClusterPlan:
    """The hub cluster, one device with one configuration (`name`: its units' names joined by '+'): its units and
    bridges; the WAN bridge's VRRP address is the shared NBMA address."""

    name: str
    units: tuple[ClusterUnit, ...]
    advert_ms: int
    sync: ClusterBridge  # the cluster sync's own bridge: off the data and WAN segments
    wan: ClusterBridge
    lan: ClusterBridge  # the HQ segment: BGP with the HQ core leaves from its VRRP address

    @property
    def bridges(self) -> tuple[ClusterBridge, ...]:
        return self.sync, self.wan, self.lan

    @property
    def vrrp_id(self) -> int:
        return self.wan.vrrp_id

    @property
    def vip(self) -> IPv4Interface:
        return self.wan.vip

    def unit(self, name: str) -> ClusterUnit:
        return next(u for u in self.units if u.name == name)


@dataclass(frozen=True)
class NodePlan:
    """Everything decided about one hub or spoke."""

    name: str
    role: Literal["hub", "spoke"]
    phase: int
    wan: IPv4Interface  # the WAN port's address (behind a PAT: the inside one)
    wan_gateway: IPv4Address  # the next hop to the other sites (behind a PAT: the PAT's inside address)
    wan_pool: IPv4Network  # every site's WAN addresses (the transport's pool), reached through wan_gateway
    nbma: IPv4Address  # the address the tunnel and IKE leave from: the NBMA address the node claims
    # behind its own PAT: the PAT's outside address, the one hubs and other spokes see the node at
    pat_outside: IPv4Address | None = field(metadata=IF_SET)
    tunnel: IPv4Interface  # on ESR: the tunnel network's prefix length
    tunnel_zone: str | None  # the tunnel's security zone; None: the firewall is off on it (MPLS switching runs there)
    lan: IPv4Interface
    nhrp: NhrpPlan
    ipsec_mode: str
    ike_establish: Literal["route"]
    ike_lifetime_s: int | None = field(metadata=IF_SET)  # the IKE SA's hard lifetime; None: the device's default
    sa_lifetime_s: int | None = field(metadata=IF_SET)  # each IPsec SA's hard lifetime; None: the device's default
    bindings: tuple[IpsecBinding, ...]
    bindings_note: str  # why a binding is absent, if one is
    bgp: BgpPlan
    vrfs: tuple[VrfPlan, ...]
    mpls_forwarding: bool
    cluster: ClusterPlan | None
    stand_in: StandIn

    @property
    def is_hub(self) -> bool:
        return self.role == "hub"

    @property
    def device(self) -> str:
        """The device whose configuration this node's is: the node, or the cluster it is a unit of."""
        return self.cluster.name if self.cluster else self.name


@dataclass(frozen=True)
class PatPlan:
    """The PAT in front of a spoke, which the lab's transport router stands in for: what leaves the spoke's inside
    link leaves from `outside`, its UDP and TCP source ports translated into `ports`; nothing else reaches
    `outside` (no route: only replies, through the PAT's connection tracking)."""

    inside: IPv4Network
    outside: IPv4Address
    ports: tuple[int, int]


@dataclass(frozen=True)
class TransportLink:
    """The transport router's port on a site's own link (a cluster's units share one bridge instead)."""

    port: str
    site: str
    address: IPv4Interface  # the transport's address there: the site's gateway
    pat: PatPlan | None


@dataclass(frozen=True)
class TransportBridge:
    """A hub cluster's WAN segment on the transport router: one bridge over its ports to the units."""

    address: IPv4Interface  # the transport's address on the segment: the units' gateway
    ports: tuple[str, ...]
    units: tuple[str, ...]  # the unit at the end of each port


@dataclass(frozen=True)
class TransportPlan:
    """The transport ("internet") router: its link to every site, and the PATs it stands in for."""

    name: str
    bridge: TransportBridge | None = field(metadata=IF_SET)  # a hub cluster's WAN segment
    links: tuple[TransportLink, ...]  # every site with a link of its own
