"""The validated design: everything downstream (topology, configs, checks) is derived from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Literal

from labkit.design.pools import WAN_LINK_PREFIXLEN

Role = Literal["hub", "spoke"]


@dataclass(frozen=True)
class EsrModel:
    """One Eltex ESR model and the ports a node of it uses (see labkit/platforms/esr/models.yml)."""

    name: str
    roles: tuple[str, ...]
    wan_port: str
    lan_port: str
    sync_port: str | None  # a hub model's port to the other unit of a cluster (cluster sync); None on spokes
    firmware: str
    source: str  # where the port naming comes from: "confirmed: ..." or "assumed: ..."


@dataclass(frozen=True)
class Site:
    """A hub or spoke router: its WAN link to the transport, tunnel address and LAN."""

    name: str
    role: Role
    model: EsrModel
    wan: IPv4Interface  # address on the WAN link (the node's eth1)
    wan_gateway: IPv4Address  # the transport router's side of that link
    tunnel: IPv4Address
    lan: IPv4Interface  # gateway address of the site's LAN, with its prefix
    vip: IPv4Address | None = None  # a cluster unit: the WAN address it shares with the other unit
    # a spoke behind its own PAT: its link to the PAT (the spoke's address, the PAT's inside address); `wan` is
    # then the PAT's outside address, the one every other node sees the spoke at
    inside: WanLink | None = None

    @property
    def nbma(self) -> IPv4Address:
        """The NBMA address the other nodes reach the site at (a spoke behind a PAT: the PAT's outside address)."""
        return self.vip or self.wan.ip

    @property
    def lan_host(self) -> IPv4Interface:
        """A host on the site's LAN (a branch PC, in the lab): the address after the gateway's."""
        return IPv4Interface((self.lan.ip + 1, self.lan.network.prefixlen))


@dataclass(frozen=True)
class WanLink:
    """A WAN link to the transport router: the site's address and the transport's (the site's gateway)."""

    address: IPv4Interface
    gateway: IPv4Interface


@dataclass(frozen=True)
class Nat:
    """Spokes behind their own PAT (a branch CPE or its provider translating source addresses and ports): spoke N's
    link to its PAT is the Nth /30 of `inside_pool`, and its design WAN address is the PAT's outside address."""

    inside_pool: IPv4Network
    spokes: tuple[str, ...]


@dataclass(frozen=True)
class Overlay:
    tunnel_network: IPv4Network
    gre_key: int
    nhrp_network_id: int
    holdtime: int
    mtu: int
    tcp_mss: int


@dataclass(frozen=True)
class Proposal:
    encryption: str
    integrity: str | None
    dh_group: int | None


@dataclass(frozen=True)
class Ipsec:
    ike_version: int
    ike_proposal: Proposal
    esp_proposal: Proposal
    mode: Literal["transport", "tunnel"]
    psk: str = field(repr=False)
    dpd_interval: int
    dpd_timeout: int | None = None  # seconds from a DPD request unanswered to the peer given up; None: the default
    ike_lifetime: int | None = None  # seconds: the IKE SA's hard lifetime; None: the devices' default
    sa_lifetime: int | None = None  # seconds: each IPsec (CHILD) SA's hard lifetime; None: the devices' default


@dataclass(frozen=True)
class Bfd:
    interval_ms: int  # transmit and receive interval
    multiplier: int  # missed packets before the session is declared down

    @property
    def detect_ms(self) -> int:
        return self.interval_ms * self.multiplier


@dataclass(frozen=True)
class Routing:
    protocol: Literal["bgp"]
    asn: int
    keepalive: int
    holdtime: int
    hub_advertises: Literal["summary", "default", "all"]
    spoke_summary: IPv4Network  # the block every spoke LAN is carved from
    bfd: Bfd | None = None


@dataclass(frozen=True)
class Headquarters:
    """The HQ core router: every hub's LAN port joins one shared segment with it; the HQ LAN is behind it."""

    name: str
    address: IPv4Interface  # on the segment shared with the hubs
    lan: IPv4Interface  # gateway address of the HQ server LAN


@dataclass(frozen=True)
class Cluster:
    """The hubs are the two units of one Active/Standby hub (ESR "1+1" cluster): one tunnel address, one
    WAN (NBMA) address held by the active unit through VRRP; spokes know only that address."""

    vrrp_id: int
    advert_ms: int
    segment: IPv4Network  # the WAN segment the units share with the transport router
    vip: IPv4Address
    lan_vip: IPv4Address  # the units' shared address on the HQ segment (VRRP): BGP with the HQ core leaves from it
    sync_network: IPv4Network  # the cluster sync bridge's: its VRRP address is host 1, unit N's host 1+N


@dataclass(frozen=True)
class Misconfiguration:
    """A misconfiguration of the fault library a design asks to be proven kept out (see
    labkit/data/misconfigurations.yml): its fault, its title, what it leaves of IPsec (None: keeps nothing out)."""

    fault: str
    title: str
    ipsec_left: str | None


@dataclass(frozen=True)
class EdgeCase:
    """An edge case a design asks to be proven (see labkit/data/cases.yml): its name, title, the spokes and
    phases it needs, and for a case measured with probes, its loss budget."""

    name: str
    title: str
    spokes: int
    phases: tuple[int, ...]
    budget: Failover | None = None
    requires: str | None = None  # a design field (dotted path) the case needs set
    nat_spokes: int = 0  # spokes behind `nat:` the case needs; with 0 its spokes must all be public
    stand_in_gap: str | None = None  # how the lab's stand-ins are known to fall short of DMVPN in this case


@dataclass(frozen=True)
class Failover:
    """What the failover suite measures against: the loss budget and the probe's packet interval."""

    loss_budget_ms: int
    probe_interval_ms: int


@dataclass(frozen=True)
class Vrf:
    """One L3VPN service (e.g. CORP, ATM): kernel table / ESR VRF number, which also numbers its route
    target (ASN:id) and route distinguishers (tunnel address:id); its LAN at HQ (on the hub) and the pool
    the spokes' LANs in it are carved from (spoke N gets block N, as in spokes.lan_pool)."""

    name: str
    id: int
    hq_lan: IPv4Interface
    lan_pool: IPv4Network


@dataclass(frozen=True)
class Mpls:
    """MPLS L3VPN over the DMVPN cloud. VPN labels are BGP-signalled (VPNv4 over the tunnel, next hop
    reached over GRE); there is no LDP. Spoke-to-spoke VPN traffic goes through the hub, which holds
    every VRF and answers the spokes with a per-VRF summary of the spoke LANs under its own label."""

    lan_prefixlen: int
    vrfs: tuple[Vrf, ...]


@dataclass(frozen=True)
class Transport:
    """The 'internet' router joining every site's WAN link."""

    name: str
    wan_pool: IPv4Network


@dataclass(frozen=True)
class Design:
    source: Path
    lab: str  # names the lab and everything made from the design: build/, reports/, configs/ folders
    scenario: str | None  # an optional label from older design files; checks follow the design's contents
    description: str
    phase: int
    transport: Transport
    overlay: Overlay
    ipsec: Ipsec
    routing: Routing
    hubs: tuple[Site, ...]
    spokes: tuple[Site, ...]
    headquarters: Headquarters | None = None
    failover: Failover | None = None
    cluster: Cluster | None = None
    mpls: Mpls | None = None
    misconfigure: tuple[Misconfiguration, ...] = ()  # applied to the last spoke one at a time, each proven out
    cases: tuple[EdgeCase, ...] = ()  # edge cases proven after the story, one at a time
    nat: Nat | None = None  # spokes behind their own PAT
    overrides: tuple[str, ...] = ()  # fields the command line set (`--set FIELD=VALUE`), as given

    @property
    def origin(self) -> str:
        """Where the design comes from, as generated files and reports name it: the file and any `--set`."""
        return " ".join([self.source.as_posix(), *(f"--set {given}" for given in self.overrides)])

    @property
    def sites(self) -> tuple[Site, ...]:
        return self.hubs + self.spokes

    @property
    def node_names(self) -> tuple[str, ...]:
        """Every node of the lab: the transport router, hubs, spokes and the HQ core router if any."""
        core = (self.headquarters.name,) if self.headquarters else ()
        return (self.transport.name, *(s.name for s in self.sites), *core)

    @property
    def nhs(self) -> tuple[Site, ...]:
        """The hubs as spokes see them: one per NBMA address (a cluster's units count once)."""
        first: dict[IPv4Address, Site] = {}
        for hub in self.hubs:
            first.setdefault(hub.nbma, hub)
        return tuple(first.values())

    @property
    def hq_lan(self) -> IPv4Interface:
        """The LAN that stands for headquarters: behind the core router, or else the first hub's."""
        return self.headquarters.lan if self.headquarters else self.hubs[0].lan

    def bgp_neighbors(self, name: str) -> tuple[tuple[str, IPv4Address], ...]:
        """(node, address) of each BGP neighbour of a node: spokes peer with every hub over the tunnel;
        hubs with every spoke, and on the HQ segment with each other and the core router."""
        hq = self.headquarters
        if hq and name == hq.name:
            return tuple((h.name, h.lan.ip) for h in self.hubs)
        site = self.site(name)
        if site.role == "spoke":
            return tuple((h.name, h.tunnel) for h in self.nhs)
        peers = [(s.name, s.tunnel) for s in self.spokes]
        if not self.cluster:  # cluster units do not peer with each other
            peers += [(h.name, h.lan.ip) for h in self.hubs if h != site]
        return tuple(peers + ([(hq.name, hq.address.ip)] if hq else []))

    def vrf_lans(self, name: str) -> tuple[tuple[Vrf, IPv4Interface], ...]:
        """A site's LAN (gateway address) in each VRF: the hub has the HQ LANs, spoke N block N of each pool."""
        if not self.mpls:
            return ()
        site = self.site(name)
        if site.role == "hub":
            return tuple((vrf, vrf.hq_lan) for vrf in self.mpls.vrfs)
        number = self.spokes.index(site) + 1
        lans = []
        for vrf in self.mpls.vrfs:
            block = vrf.lan_pool.network_address + number * 2 ** (32 - self.mpls.lan_prefixlen)
            lans.append((vrf, IPv4Interface(f"{block + 1}/{self.mpls.lan_prefixlen}")))
        return tuple(lans)

    def site(self, name: str) -> Site:
        for site in self.sites:
            if site.name == name:
                return site
        raise KeyError(name)

    def transport_port(self, site: Site) -> str:
        """The transport router's port on the site's WAN link: ethN for the Nth site, hubs first."""
        return f"eth{self.sites.index(site) + 1}"

    def spare_wan_link(self) -> WanLink:
        """The WAN pool's last link, which no site holds (validation keeps it free for a design with the
        wan_address_change case): the new lease of a spoke whose WAN address changes."""
        pool = self.transport.wan_pool
        link = IPv4Network((int(pool.broadcast_address) - 2 ** (32 - WAN_LINK_PREFIXLEN) + 1, WAN_LINK_PREFIXLEN))
        gateway, address = (IPv4Interface((host, WAN_LINK_PREFIXLEN)) for host in link.hosts())
        return WanLink(address, gateway)

    @property
    def natted_spokes(self) -> tuple[Site, ...]:
        """The spokes behind their own PAT, in the design's order."""
        return tuple(s for s in self.spokes if s.inside)

    @staticmethod
    def direct_possible(a: Site, b: Site) -> bool:
        """Whether two sites can build a direct tunnel: not if both sit behind PATs (each PAT drops the IKE the
        other sends to its outside address: nothing inside asked for it)."""
        return not (a.inside and b.inside)

    def has_case(self, name: str) -> bool:
        return any(case.name == name for case in self.cases)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in reports, evidence or logs."""
        return (self.ipsec.psk,)
