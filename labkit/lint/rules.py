"""Cross-device consistency of a set of ESR configurations (one scenario): what must agree between
hubs and spokes for the DMVPN cloud to come up. Each finding names the file, line and device."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address

from labkit.lint.esr_config import EsrConfig


@dataclass(frozen=True)
class Finding:
    config: EsrConfig
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.config.path}:{self.line}: {self.config.name}: {self.message}"


Rule = Callable[[list[EsrConfig]], list[Finding]]


def _hubs(configs: list[EsrConfig]) -> list[EsrConfig]:
    return [c for c in configs if c.role == "hub"]


def _hub_list(hubs: list[EsrConfig]) -> str:
    return ", ".join(f"{h.name} {h.tunnel.ip if h.tunnel else '?'} (NBMA {h.nbma})" for h in hubs) or "none"


def nhs_mappings(configs: list[EsrConfig]) -> list[Finding]:
    """Every spoke's NHS is a hub's tunnel address, mapped to that hub's NBMA (WAN) address."""
    hubs = {h.tunnel.ip: h for h in _hubs(configs) if h.tunnel}
    findings = []
    for spoke in (c for c in configs if c.role == "spoke"):
        for nhs in spoke.nhs:
            hub = hubs.get(nhs)
            if hub is None:
                hub_list = _hub_list(list(hubs.values()))
                findings.append(Finding(spoke, spoke.line("ip nhrp nhs", nhs),
                                        f"NHS {nhs} is no hub's tunnel address; hubs: {hub_list}"))
                continue
            nbma = spoke.maps.get(nhs)
            if nbma is None:
                findings.append(Finding(spoke, spoke.line("ip nhrp nhs", nhs),
                                        f"NHS {nhs} ({hub.name}) has no `ip nhrp map {nhs} {hub.nbma}`"))
            elif nbma != hub.nbma:
                findings.append(Finding(spoke, spoke.line("ip nhrp map", nhs),
                                        f"maps NHS {nhs} ({hub.name}) to NBMA {nbma}, but {hub.name}'s tunnel "
                                        f"leaves from {hub.nbma}"))
        if not spoke.nhs:
            findings.append(Finding(spoke, spoke.line("tunnel gre"), "a spoke without `ip nhrp nhs`"))
    return findings


def proposals_agree(configs: list[EsrConfig]) -> list[Finding]:
    """IKE and IPsec proposals, IKE version, IPsec mode and the pre-shared key are the same on every device
    (pairwise with the first hub, which is the reference every spoke negotiates with)."""
    hubs = _hubs(configs)
    if not hubs:
        return []
    ref = hubs[0]
    findings = []
    for other in configs:
        if other is ref:
            continue
        for what, mine, theirs, anchor in (
            ("IKE proposal", other.ike, ref.ike, "security ike proposal"),
            ("IPsec proposal", other.esp, ref.esp, "security ipsec proposal"),
            ("IKE version", other.ike_version, ref.ike_version, "version"),
            ("IPsec mode", other.ipsec_mode, ref.ipsec_mode, "type "),
        ):
            if mine != theirs:
                findings.append(Finding(other, other.line(anchor),
                                        f"{what} {_show(mine)} differs from {ref.name}'s {_show(theirs)}"))
        if other.psk != ref.psk:
            findings.append(Finding(other, other.line("pre-shared-key"),
                                    f"IKE pre-shared key differs from {ref.name}'s (values not shown)"))
    return findings


def _show(value: object) -> str:
    if value is None:
        return "(none)"
    if hasattr(value, "encryption"):
        return f"{value.encryption}/{value.integrity or '-'}/DH {value.dh_group or '-'}"
    return str(value)


def tunnel_addresses(configs: list[EsrConfig]) -> list[Finding]:
    """Tunnel addresses are unique (a cluster's units share one) and inside the hubs' overlay network."""
    hubs = _hubs(configs)
    overlay = hubs[0].tunnel.network if hubs and hubs[0].tunnel else None
    findings = []
    seen: dict[IPv4Address, EsrConfig] = {}
    for config in configs:
        if config.tunnel is None:
            findings.append(Finding(config, config.line("tunnel gre"), "the tunnel has no `ip address`"))
            continue
        address = config.tunnel.ip
        if overlay and (config.tunnel.network != overlay or address in (overlay.network_address,
                                                                         overlay.broadcast_address)):
            findings.append(Finding(config, config.line("ip address", config.tunnel),
                                    f"tunnel address {config.tunnel} is not a host of the overlay {overlay} "
                                    f"({hubs[0].name})"))
        first = seen.get(address)
        if first is not None and first.hostnames != config.hostnames:
            findings.append(Finding(config, config.line("ip address", config.tunnel),
                                    f"tunnel address {address} is also {first.name}'s ({first.path})"))
        seen.setdefault(address, config)
    return findings


def bgp_reciprocal(configs: list[EsrConfig]) -> list[Finding]:
    """Each BGP neighbour that is another device here names that device's address, expects its AS, and
    that device has this one as a neighbour too. Neighbours outside this set (an HQ core) are skipped."""
    owner = {a: c for c in configs for a in c.own_addresses}
    findings = []
    for config in configs:
        for neighbor in config.neighbors:
            peer = owner.get(neighbor.address)
            if peer is None or peer.hostnames == config.hostnames:
                continue
            line = config.line("neighbor", neighbor.address)
            if neighbor.remote_as != peer.asn:
                findings.append(Finding(config, line, f"neighbour {neighbor.address} ({peer.name}) remote-as "
                                        f"{neighbor.remote_as}, but {peer.name} is AS {peer.asn}"))
            if not any(n.address in config.own_addresses for n in peer.neighbors):
                findings.append(Finding(config, line, f"neighbour {neighbor.address} ({peer.name}) has no "
                                        f"neighbour statement for {config.name}"))
    return findings


def phase_commands(configs: list[EsrConfig]) -> list[Finding]:
    """`ip nhrp redirect` on hubs exactly in phase 3; `ip nhrp shortcut` on spokes exactly from phase 2."""
    findings = []
    for config in configs:
        if config.phase is None:
            continue
        hub = config.role == "hub"
        for command, present, wanted in (
            ("ip nhrp redirect", config.redirect, hub and config.phase == 3),
            ("ip nhrp shortcut", config.shortcut, not hub and config.phase >= 2),
        ):
            if present and not wanted:
                findings.append(Finding(config, config.line(command), f"`{command}` does not belong on a "
                                        f"{config.role} in phase {config.phase}"))
            elif wanted and not present:
                findings.append(Finding(config, config.line("tunnel gre"), f"a phase {config.phase} "
                                        f"{config.role} needs `{command}`"))
    return findings


def lans_advertised(configs: list[EsrConfig]) -> list[Finding]:
    """Every spoke LAN (an interface other than the WAN and tunnel) is covered by a BGP `network`, in its
    VRF for VRF LANs."""
    findings = []
    for spoke in (c for c in configs if c.role == "spoke"):
        vrf_nets = {v.name: v.networks for v in spoke.vrfs}
        for iface, addresses in spoke.addresses.items():
            for address in addresses:
                if address.ip == spoke.nbma:
                    continue
                vrf = spoke.vrf_of.get(iface)
                nets = vrf_nets.get(vrf, ()) if vrf else spoke.networks + spoke.aggregates
                if not any(address.network.subnet_of(n) for n in nets):
                    where = f"in vrf {vrf}" if vrf else "in BGP"
                    findings.append(Finding(spoke, spoke.line("ip address", address),
                                            f"LAN {address.network} on {iface} is not advertised {where}"))
    return findings


def route_targets_pair(configs: list[EsrConfig]) -> list[Finding]:
    """Each VRF's export route target is imported by the same VRF on every other device, and the reverse."""
    findings = []
    for a, b in itertools.permutations(configs, 2):
        theirs = {v.name: v for v in b.vrfs}
        for vrf in a.vrfs:
            other = theirs.get(vrf.name)
            if other is None:
                findings.append(Finding(a, a.line("ip vrf", vrf.name), f"vrf {vrf.name} has no counterpart on "
                                        f"{b.name}"))
            elif vrf.rt_export != other.rt_import:
                findings.append(Finding(a, a.line("route-target export", vrf.rt_export or ""),
                                        f"vrf {vrf.name} exports {vrf.rt_export}, {b.name} imports {other.rt_import}"))
    return findings


RULES: tuple[Rule, ...] = (nhs_mappings, proposals_agree, tunnel_addresses, bgp_reciprocal, phase_commands,
                           lans_advertised, route_targets_pair)


def lint(configs: list[EsrConfig]) -> list[Finding]:
    """Every rule over one scenario's configurations, findings in file and line order."""
    findings = [f for rule in RULES for f in rule(configs)]
    unique = {str(f): f for f in findings}
    return sorted(unique.values(), key=lambda f: (str(f.config.path), f.line, f.message))
