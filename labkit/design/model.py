"""The validated design: everything downstream (topology, configs, checks) is derived from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Literal

Role = Literal["hub", "spoke"]


@dataclass(frozen=True)
class EsrModel:
    """One Eltex ESR model and the ports a node of it uses (see labkit/data/esr_models.yml)."""

    name: str
    roles: tuple[str, ...]
    wan_port: str
    lan_port: str
    firmware: str
    source: str
    confirmed: bool


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

    @property
    def nbma(self) -> IPv4Address:
        return self.wan.ip


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


@dataclass(frozen=True)
class Routing:
    protocol: Literal["bgp"]
    asn: int
    keepalive: int
    holdtime: int
    hub_advertises: Literal["summary", "default", "all"]
    spoke_summary: IPv4Network  # the block every spoke LAN is carved from


@dataclass(frozen=True)
class Transport:
    """The 'internet' router joining every site's WAN link."""

    name: str
    wan_pool: IPv4Network


@dataclass(frozen=True)
class Design:
    source: Path
    lab: str
    scenario: str
    description: str
    phase: int
    transport: Transport
    overlay: Overlay
    ipsec: Ipsec
    routing: Routing
    hubs: tuple[Site, ...]
    spokes: tuple[Site, ...]

    @property
    def sites(self) -> tuple[Site, ...]:
        return self.hubs + self.spokes

    def site(self, name: str) -> Site:
        for site in self.sites:
            if site.name == name:
                return site
        raise KeyError(name)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in reports, evidence or logs."""
        return (self.ipsec.psk,)
