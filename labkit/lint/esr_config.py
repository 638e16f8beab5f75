"""An ESR configuration parsed (TTP, templates/esr/running_config.ttp) into a normalised model that the
round-trip and cross-device checks read; every fact keeps a way back to its line for messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

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


@dataclass(frozen=True)
class EsrVrf:
    name: str
    rd: str | None
    rt_import: str | None
    rt_export: str | None
    networks: tuple[IPv4Network, ...] = ()


@dataclass(frozen=True)
class EsrConfig:
    """One device's configuration. A cluster configuration carries both units' names and addresses."""

    path: Path
    text: str = field(repr=False)
    hostnames: tuple[str, ...]
    phase: int | None  # from labkit's header, when present
    addresses: dict[str, tuple[IPv4Interface, ...]]  # interface -> addresses (cluster: one per unit)
    vrf_of: dict[str, str]  # interface -> VRF
    tunnel: IPv4Interface | None
    nbma: IPv4Address | None  # the tunnel's local address (its WAN address, or a cluster's VRRP address)
    maps: dict[IPv4Address, IPv4Address]  # NHS tunnel address -> NBMA
    nhs: tuple[IPv4Address, ...]
    redirect: bool
    shortcut: bool
    multicast_dynamic: bool
    ike: EsrProposal | None
    esp: EsrProposal | None
    ike_version: str | None
    psk: str | None = field(repr=False)  # compared between devices, never printed
    ipsec_mode: str | None
    asn: int | None
    networks: tuple[IPv4Network, ...]
    aggregates: tuple[IPv4Network, ...]
    neighbors: tuple[EsrNeighbor, ...]
    vrfs: tuple[EsrVrf, ...]

    @property
    def name(self) -> str:
        return self.hostnames[0] if self.hostnames else self.path.stem

    @property
    def role(self) -> str:
        """A hub answers registrations (`ip nhrp multicast dynamic`, no NHS); a spoke registers with NHSs."""
        return "hub" if self.multicast_dynamic or not self.nhs else "spoke"

    @property
    def own_addresses(self) -> set[IPv4Address]:
        found = {a.ip for addrs in self.addresses.values() for a in addrs}
        return found | ({self.tunnel.ip} if self.tunnel else set()) | ({self.nbma} if self.nbma else set())

    def line(self, *fragments: object) -> int:
        """The number of the first line holding every fragment (1 if none does)."""
        wanted = [str(f) for f in fragments]
        for number, text in enumerate(self.text.splitlines(), start=1):
            if not text.lstrip().startswith("!") and all(w in text for w in wanted):
                return number
        return 1


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


def _nets(value: object) -> tuple[IPv4Network, ...]:
    items = value if isinstance(value, list) else [value] if value else []
    return tuple(IPv4Network(v, strict=False) for v in items)


def load_esr_config(path: Path, text: str | None = None) -> EsrConfig:
    """Parse one configuration file (or text said to come from `path`)."""
    text = path.read_text(encoding="utf-8") if text is None else text
    parsed = parse("esr/running_config", text)
    addresses: dict[str, tuple[IPv4Interface, ...]] = {}
    vrf_of: dict[str, str] = {}
    for iface in _list(parsed.get("interfaces")) + [dict(b, name=f"bridge {b['id']}") for b in
                                                     _list(parsed.get("bridges"))]:
        found = [iface["address"]] if iface.get("address") else []
        found += [u["address"] for u in _list(iface.get("unit_addresses"))]
        addresses[iface["name"]] = tuple(IPv4Interface(a) for a in found)
        if iface.get("vrf"):
            vrf_of[iface["name"]] = iface["vrf"]
    vips = [IPv4Interface(b["vrrp"]["vip"]).ip for b in _list(parsed.get("bridges")) if b.get("vrrp")]
    tunnel = (_list(parsed.get("tunnels")) or [{}])[0]
    local = tunnel.get("local_interface")
    nbma = IPv4Address(tunnel["local_address"]) if tunnel.get("local_address") else \
        (addresses[local][0].ip if addresses.get(local) else (vips[0] if vips else None))
    bgp = parsed.get("bgp") or {}
    vrf_networks = {v["name"]: _nets(v.get("networks")) + _nets(v.get("aggregates")) for v in _list(bgp.get("vrfs"))}
    gateway = (_list(parsed.get("ike_gateways")) or [{}])[0]
    header = parsed.get("header") or {}
    return EsrConfig(
        path=path, text=text,
        hostnames=tuple(h["hostname"] for h in _list(parsed.get("layout"))),
        phase=int(header["phase"]) if header.get("phase") else None,
        addresses=addresses, vrf_of=vrf_of,
        tunnel=IPv4Interface(tunnel["address"]) if tunnel.get("address") else None,
        nbma=nbma,
        maps={IPv4Address(m["tunnel"]): IPv4Address(m["nbma"]) for m in _list(tunnel.get("maps"))},
        nhs=tuple(IPv4Address(n["tunnel"]) for n in _list(tunnel.get("nhs"))),
        redirect=bool(tunnel.get("redirect")), shortcut=bool(tunnel.get("shortcut")),
        multicast_dynamic=bool(tunnel.get("multicast_dynamic")),
        ike=_proposal(_list(parsed.get("ike_proposals"))),
        esp=_proposal(_list(parsed.get("ipsec_proposals"))),
        ike_version=gateway.get("version"),
        psk=(_list(parsed.get("ike_policies")) or [{}])[0].get("psk"),
        ipsec_mode=(_list(parsed.get("ipsec_vpns")) or [{}])[0].get("mode"),
        asn=int(bgp["asn"]) if bgp.get("asn") else None,
        networks=tuple(IPv4Network(n["prefix"]) for n in _list(bgp.get("networks"))),
        aggregates=tuple(IPv4Network(a["prefix"]) for a in _list(bgp.get("aggregates"))),
        neighbors=tuple(
            EsrNeighbor(IPv4Address(n["address"]), int(n["remote_as"]) if n.get("remote_as") else None,
                        IPv4Address(n["update_source"]) if n.get("update_source") else None,
                        bool(n.get("vpnv4")), bool(n.get("bfd")))
            for n in _list(bgp.get("neighbors"))),
        vrfs=tuple(EsrVrf(v["name"], v.get("rd"), v.get("rt_import"), v.get("rt_export"),
                          vrf_networks.get(v["name"], ())) for v in _list(parsed.get("vrfs"))),
    )
