"""An ESR configuration parsed (TTP, templates/esr/running_config.ttp) into a normalised model that the
round-trip and cross-device checks read; every fact keeps a way back to its line for messages. Interface
names are kept short (`gi1/0/1`), whichever form the configuration prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

from labkit.platforms.esr.interfaces import short_name
from labkit.verify.parse import parse


@dataclass(frozen=True)
class EsrProposal:
    encryption: str | None
    integrity: str | None
    dh_group: int | None


@dataclass(frozen=True)
class EsrNeighbor:
    address: IPv4Address
    remote_as: int | None
    update_source: IPv4Address | None
    vpnv4: bool
    bfd: bool
    rr_client: bool = False
    next_hop_self: bool = False
    timers: tuple[int | None, int | None] = (None, None)  # keepalive, holdtime (s); None: not set (ESR's default)


@dataclass(frozen=True)
class EsrPeerGroup:
    """A BGP peer group and the listen ranges that bind it: a dynamic neighbour for each address in them."""

    name: str
    remote_as: int | None
    bfd: bool
    rr_client: bool
    next_hop_self: bool
    listen_ranges: tuple[IPv4Network, ...]
    update_source: IPv4Address | None = None
    vpnv4: bool = False
    timers: tuple[int | None, int | None] = (None, None)  # keepalive, holdtime (s)

    def covers(self, addresses: set[IPv4Address]) -> bool:
        return any(a in r for a in addresses for r in self.listen_ranges)


@dataclass(frozen=True)
class EsrVrf:
    name: str
    rd: str | None
    rt_import: str | None
    rt_export: str | None
    networks: tuple[IPv4Network, ...] = ()


@dataclass(frozen=True)
class EsrBinding:
    """`ip nhrp ipsec VPN static|dynamic` in the tunnel: `static` protects the tunnels to the NHSs, `dynamic`
    those to peers learnt by NHRP (a hub's spokes; a spoke's spoke-to-spoke peers)."""

    vpn: str
    kind: str  # static or dynamic


@dataclass(frozen=True)
class EsrIkeGateway:
    name: str
    version: str | None
    local_address: IPv4Address | None
    remote_address: str | None  # `any` or an address
    remote_network: str | None  # `any`, or e.g. `198.51.100.2/32 protocol gre`


@dataclass(frozen=True)
class EsrIpsecVpn:
    name: str
    mode: str | None  # transport or tunnel, from `type` (ESR syntax) or the old `mode` line
    mode_keyword: str | None  # which of the two lines said it: `type` or `mode`
    establish: str | None  # `ike establish-tunnel route|immediate|...`
    gateway: str | None


@dataclass(frozen=True)
class EsrBridge:
    """A bridge: its VLAN, the per-unit addresses of a cluster's (`ip address A unit N`) and its VRRP address."""

    number: int
    vlan: int | None
    unit_addresses: tuple[tuple[int, IPv4Interface], ...]  # (unit, address)
    vip: IPv4Interface | None


@dataclass(frozen=True)
class EsrConfig:
    """One device's configuration. A cluster configuration carries both units' names and addresses."""

    path: Path
    text: str = field(repr=False)
    hostnames: tuple[str, ...]
    phase: int | None  # from labkit's header, when present
    addresses: dict[str, tuple[IPv4Interface, ...]]  # interface -> addresses (cluster: one per unit)
    vrf_of: dict[str, str]  # interface -> VRF
    bridges: tuple[EsrBridge, ...]
    access_vlans: dict[str, int]  # port -> the VLAN it joins (`switchport access vlan N`)
    unit_addressed_ports: tuple[str, ...]  # interfaces (not bridges) with `ip address A unit N`, named as printed
    tunnel: IPv4Interface | None
    tunnel_name: str | None  # e.g. `gre 1`
    tunnel_firewall_off: bool  # `ip firewall disable` in the tunnel
    mpls_interfaces: tuple[str, ...]  # `forwarding interface X` of the global `mpls` context
    nbma: IPv4Address | None  # the tunnel's local address (its WAN address, or a cluster's VRRP address)
    maps: dict[IPv4Address, IPv4Address]  # NHS tunnel address -> NBMA
    nhs: tuple[IPv4Address, ...]
    nhrp_holdtime: int | None  # `ip nhrp holding-time` (s); None: not set (ESR's default)
    redirect: bool
    shortcut: bool
    multicast_dynamic: bool
    multicast_nhs: bool
    bindings: tuple[EsrBinding, ...]  # every `ip nhrp ipsec` line of the tunnel, in order
    ike: EsrProposal | None
    esp: EsrProposal | None
    ike_version: str | None
    psk: str | None = field(repr=False)  # compared between devices, never printed
    ike_lifetime: int | None  # the first IKE policy's `lifetime seconds`; None: not set
    sa_lifetime: int | None  # the first IPsec policy's `lifetime seconds`; None: not set
    ipsec_mode: str | None  # the first VPN's mode (`type transport` or the old `mode transport`)
    ipsec_vpns: tuple[EsrIpsecVpn, ...]
    ike_gateways: tuple[EsrIkeGateway, ...]
    asn: int | None
    networks: tuple[IPv4Network, ...]
    aggregates: tuple[IPv4Network, ...]
    neighbors: tuple[EsrNeighbor, ...]
    peer_groups: tuple[EsrPeerGroup, ...]
    vrfs: tuple[EsrVrf, ...]

    @property
    def name(self) -> str:
        return self.hostnames[0] if self.hostnames else self.path.stem

    @property
    def role(self) -> str:
        """A spoke registers with NHSs: it has `ip nhrp nhs` or `ip nhrp map`. `multicast dynamic` and
        `redirect` say nothing of the role: real spokes carry them too [V]."""
        return "spoke" if self.nhs or self.maps else "hub"

    @property
    def own_addresses(self) -> set[IPv4Address]:
        found = {a.ip for addrs in self.addresses.values() for a in addrs}
        return found | ({self.tunnel.ip} if self.tunnel else set()) | ({self.nbma} if self.nbma else set())

    def line(self, *fragments: object) -> int:
        """The number of the first line holding every fragment (1 if none does)."""
        return self._first(self.text.splitlines(), 1, fragments) or 1

    def line_in(self, block: str, *fragments: object) -> int:
        """Like `line`, inside the block opened by the line `block` (e.g. `security ipsec vpn B`, up to its
        `exit`); the block's own line if no line of it holds them all, 1 if there is no such block."""
        lines = self.text.splitlines()
        start = next((n for n, text in enumerate(lines) if text.rstrip() == block), None)
        if start is None:
            return 1
        end = next((n for n in range(start + 1, len(lines)) if lines[n].rstrip() == "exit"), len(lines))
        return self._first(lines[start + 1:end], start + 2, fragments) or start + 1

    @staticmethod
    def _first(lines: list[str], first_number: int, fragments: tuple[object, ...]) -> int | None:
        wanted = [str(f) for f in fragments]
        for number, text in enumerate(lines, start=first_number):
            if not text.lstrip().startswith("!") and all(w in text for w in wanted):
                return number
        return None


def _list(value: object) -> list[dict]:
    if value is None:
        return []
    return [value] if isinstance(value, dict) else list(value)


def _proposal(rows: list[dict]) -> EsrProposal | None:
    if not rows:
        return None
    row = rows[0]
    dh = row.get("dh_group")
    return EsrProposal(row.get("encryption"), row.get("integrity"), int(dh) if dh else None)


def _lifetime(rows: list[dict]) -> int | None:
    """The first policy's `lifetime seconds`."""
    lifetime = rows[0].get("lifetime") if rows else None
    return int(lifetime) if lifetime else None


def _nets(value: object) -> tuple[IPv4Network, ...]:
    items = value if isinstance(value, list) else [value] if value else []
    return tuple(IPv4Network(v, strict=False) for v in items)


def _address(value: str | None) -> IPv4Address | None:
    return IPv4Address(value) if value else None


def _bridge(row: dict) -> EsrBridge:
    vrrp = row.get("vrrp") or {}
    return EsrBridge(int(row["id"]), int(row["vlan"]) if row.get("vlan") else None,
                     tuple((int(u["unit"]), IPv4Interface(u["address"])) for u in _list(row.get("unit_addresses"))),
                     IPv4Interface(vrrp["vip"]) if vrrp.get("vip") else None)


def _mpls_interfaces(mpls: dict) -> tuple[str, ...]:
    """The interfaces of the `mpls` context's `forwarding interface` lines, spaces normalised (`gre 1`)."""
    return tuple(" ".join(line.split()) for line in mpls.get("interfaces", "").splitlines())


def _ipsec_vpn(row: dict) -> EsrIpsecVpn:
    keyword = "type" if row.get("type") else "mode" if row.get("mode") else None
    return EsrIpsecVpn(row["name"], row.get("type") or row.get("mode"), keyword, row.get("establish"),
                       row.get("gateway"))


def _ike_gateway(row: dict) -> EsrIkeGateway:
    return EsrIkeGateway(row["name"], row.get("version"), _address(row.get("local_address")),
                         row.get("remote_address"), row.get("remote_network"))


def _neighbor(row: dict) -> EsrNeighbor:
    return EsrNeighbor(IPv4Address(row["address"]), int(row["remote_as"]) if row.get("remote_as") else None,
                       _address(row.get("update_source")), bool(row.get("vpnv4")), bool(row.get("bfd")),
                       bool(row.get("rr_client")), bool(row.get("next_hop_self")), _timers(row))


def _timers(row: dict) -> tuple[int | None, int | None]:
    """A neighbour's or peer group's BGP keepalive and holdtime, None where not set."""
    keepalive, holdtime = (int(row[k]) if row.get(k) else None for k in ("keepalive", "holdtime"))
    return keepalive, holdtime


def _peer_groups(bgp: dict) -> tuple[EsrPeerGroup, ...]:
    ranges = _list(bgp.get("listen_ranges"))
    return tuple(EsrPeerGroup(g["name"], int(g["remote_as"]) if g.get("remote_as") else None, bool(g.get("bfd")),
                              bool(g.get("rr_client")), bool(g.get("next_hop_self")),
                              tuple(IPv4Network(r["prefix"], strict=False) for r in ranges if r["group"] == g["name"]),
                              _address(g.get("update_source")), bool(g.get("vpnv4")), _timers(g))
                 for g in _list(bgp.get("peer_groups")))


def load_esr_config(path: Path, text: str | None = None) -> EsrConfig:
    """Parse one configuration file (or text said to come from `path`)."""
    text = path.read_text(encoding="utf-8") if text is None else text
    parsed = parse("esr/running_config", text)
    addresses: dict[str, tuple[IPv4Interface, ...]] = {}
    vrf_of: dict[str, str] = {}
    for iface in _list(parsed.get("interfaces")) + [dict(b, name=f"bridge {b['id']}") for b in
                                                     _list(parsed.get("bridges"))]:
        name = short_name(iface["name"])
        found = [iface["address"]] if iface.get("address") else []
        found += [u["address"] for u in _list(iface.get("unit_addresses"))]
        addresses[name] = tuple(IPv4Interface(a) for a in found)
        if iface.get("vrf"):
            vrf_of[name] = iface["vrf"]
    bridges = tuple(_bridge(b) for b in _list(parsed.get("bridges")))
    vips = [b.vip.ip for b in bridges if b.vip]
    tunnel = (_list(parsed.get("tunnels")) or [{}])[0]
    local = short_name(tunnel["local_interface"]) if tunnel.get("local_interface") else None
    nbma = IPv4Address(tunnel["local_address"]) if tunnel.get("local_address") else \
        (addresses[local][0].ip if addresses.get(local) else (vips[0] if vips else None))
    bgp = parsed.get("bgp") or {}
    vrf_networks = {v["name"]: _nets(v.get("networks")) + _nets(v.get("aggregates")) for v in _list(bgp.get("vrfs"))}
    gateways = tuple(_ike_gateway(g) for g in _list(parsed.get("ike_gateways")))
    vpns = tuple(_ipsec_vpn(v) for v in _list(parsed.get("ipsec_vpns")))
    header = parsed.get("header") or {}
    return EsrConfig(
        path=path, text=text,
        hostnames=tuple(h["hostname"] for h in _list(parsed.get("layout"))),
        phase=int(header["phase"]) if header.get("phase") else None,
        addresses=addresses, vrf_of=vrf_of, bridges=bridges,
        access_vlans={short_name(i["name"]): int(i["access_vlan"]) for i in _list(parsed.get("interfaces"))
                      if i.get("access_vlan")},
        unit_addressed_ports=tuple(i["name"] for i in _list(parsed.get("interfaces")) if i.get("unit_addresses")),
        tunnel=IPv4Interface(tunnel["address"]) if tunnel.get("address") else None,
        tunnel_name=f"gre {tunnel['id']}" if tunnel.get("id") else None,
        tunnel_firewall_off=bool(tunnel.get("firewall_off")),
        mpls_interfaces=_mpls_interfaces(parsed.get("mpls") or {}),
        nbma=nbma,
        maps={IPv4Address(m["tunnel"]): IPv4Address(m["nbma"]) for m in _list(tunnel.get("maps"))},
        nhs=tuple(IPv4Address(n["tunnel"]) for n in _list(tunnel.get("nhs"))),
        nhrp_holdtime=int(tunnel["holdtime"]) if tunnel.get("holdtime") else None,
        redirect=bool(tunnel.get("redirect")), shortcut=bool(tunnel.get("shortcut")),
        multicast_dynamic=bool(tunnel.get("multicast_dynamic")),
        multicast_nhs=bool(tunnel.get("multicast_nhs")),
        bindings=tuple(EsrBinding(b["vpn"], b["kind"]) for b in _list(tunnel.get("bindings"))),
        ike=_proposal(_list(parsed.get("ike_proposals"))),
        esp=_proposal(_list(parsed.get("ipsec_proposals"))),
        ike_version=gateways[0].version if gateways else None,
        psk=(_list(parsed.get("ike_policies")) or [{}])[0].get("psk"),
        ike_lifetime=_lifetime(_list(parsed.get("ike_policies"))),
        sa_lifetime=_lifetime(_list(parsed.get("ipsec_policies"))),
        ipsec_mode=vpns[0].mode if vpns else None,
        ipsec_vpns=vpns, ike_gateways=gateways,
        asn=int(bgp["asn"]) if bgp.get("asn") else None,
        networks=tuple(IPv4Network(n["prefix"]) for n in _list(bgp.get("networks"))),
        aggregates=tuple(IPv4Network(a["prefix"]) for a in _list(bgp.get("aggregates"))),
        neighbors=tuple(_neighbor(n) for n in _list(bgp.get("neighbors"))),
        peer_groups=_peer_groups(bgp),
        vrfs=tuple(EsrVrf(v["name"], v.get("rd"), v.get("rt_import"), v.get("rt_export"),
                          vrf_networks.get(v["name"], ())) for v in _list(parsed.get("vrfs"))),
    )
