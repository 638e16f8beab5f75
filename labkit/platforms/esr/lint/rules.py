"""Cross-device consistency of a set of ESR configurations (one lab): what must agree between
hubs and spokes for the DMVPN cloud to come up. Each finding names the file, line and device."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address

from labkit.platforms.esr.running_config import EsrConfig, EsrNeighbor, EsrPeerGroup


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
            ("IPsec mode", other.ipsec_mode, ref.ipsec_mode, "security ipsec vpn"),
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
    that device has this one as a neighbour too, or a peer group whose listen range covers one of this
    device's addresses and expects its AS. Neighbours outside this set (an HQ core) are skipped."""
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
            if any(n.address in config.own_addresses for n in peer.neighbors):
                continue
            group = next((g for g in peer.peer_groups if g.covers(config.own_addresses)), None)
            if group is None:
                findings.append(Finding(config, line, f"neighbour {neighbor.address} ({peer.name}) has no "
                                        f"neighbour statement or listen range for {config.name}"))
            elif group.remote_as != config.asn:
                findings.append(Finding(peer, peer.line("peer-group", group.name), f"peer-group {group.name} "
                                        f"remote-as {group.remote_as}, but {config.name} (in its listen range) "
                                        f"is AS {config.asn}"))
    return findings


def phase_commands(configs: list[EsrConfig]) -> list[Finding]:
    """`ip nhrp redirect` on hubs exactly in phase 3; `ip nhrp shortcut` on spokes exactly from phase 2.
    A spoke's `ip nhrp redirect` is not judged: real spokes carry it [V]."""
    findings = []
    for config in configs:
        if config.phase is None:
            continue
        hub = config.role == "hub"
        checks = [("ip nhrp shortcut", config.shortcut, not hub and config.phase >= 2)]
        if hub:
            checks.append(("ip nhrp redirect", config.redirect, config.phase == 3))
        for command, present, wanted in checks:
            if present and not wanted:
                findings.append(Finding(config, config.line(command), f"`{command}` does not belong on a "
                                        f"{config.role} in phase {config.phase}"))
            elif wanted and not present:
                findings.append(Finding(config, config.line("tunnel gre"), f"a phase {config.phase} "
                                        f"{config.role} needs `{command}`"))
    return findings


def _reflects_keeping_next_hops(hub: EsrConfig, spoke: EsrConfig) -> bool:
    """`hub` is a route reflector for `spoke` without `next-hop-self`, by a neighbour or a listen range."""
    sessions: list[EsrNeighbor | EsrPeerGroup] = [n for n in hub.neighbors
                                                  if spoke.tunnel and n.address == spoke.tunnel.ip]
    sessions += [g for g in hub.peer_groups if g.covers(spoke.own_addresses)]
    return any(s.rr_client and not s.next_hop_self for s in sessions)


def spoke_to_spoke_reason(spoke: EsrConfig, hubs: list[EsrConfig]) -> str | None:
    """Why `spoke` may open tunnels straight to other spokes, read from the configurations alone (no
    header): it installs NHRP shortcuts (`ip nhrp shortcut`: phases 2 and 3); a hub sends NHRP redirects
    (`ip nhrp redirect`: phase 3); or a hub reflects BGP routes to it keeping the next hops
    (`route-reflector-client` without `next-hop-self`: phase 2, the next hop is the other spoke). None
    of these holds in phase 1, where all spoke traffic crosses the hub."""
    if spoke.shortcut:
        return "it has `ip nhrp shortcut`"
    for hub in hubs:
        if hub.redirect:
            return f"{hub.name} has `ip nhrp redirect`"
        if _reflects_keeping_next_hops(hub, spoke):
            return f"{hub.name} reflects BGP routes to it without `next-hop-self`"
    return None


def spoke_to_spoke_encrypted(configs: list[EsrConfig]) -> list[Finding]:
    """A spoke that may reach other spokes directly binds a `dynamic` IPsec VPN to its tunnel
    (`ip nhrp ipsec VPN dynamic`, beside the `static` one towards the hub [V]): without it, nothing
    protects a spoke-to-spoke tunnel on ESR."""
    hubs = _hubs(configs)
    findings = []
    for spoke in (c for c in configs if c.role == "spoke"):
        reason = spoke_to_spoke_reason(spoke, hubs)
        if reason and not any(b.kind == "dynamic" for b in spoke.bindings):
            findings.append(Finding(spoke, spoke.line("ip nhrp ipsec" if spoke.bindings else "tunnel gre"),
                                    f"spoke-to-spoke traffic would not be encrypted: spoke-to-spoke tunnels are "
                                    f"possible ({reason}) but no `ip nhrp ipsec VPN dynamic` binds a VPN to them"))
    return findings


def bindings_name_vpns(configs: list[EsrConfig]) -> list[Finding]:
    """Each `ip nhrp ipsec VPN static|dynamic` binding names a configured `security ipsec vpn VPN`."""
    findings = []
    for config in configs:
        configured = {v.name for v in config.ipsec_vpns}
        findings += [Finding(config, config.line("ip nhrp ipsec", b.vpn), f"the tunnel binds IPsec VPN {b.vpn} "
                             f"({b.kind}), but no `security ipsec vpn {b.vpn}` is configured")
                     for b in config.bindings if b.vpn not in configured]
    return findings


def esr_syntax(configs: list[EsrConfig]) -> list[Finding]:
    """Lines that real ESR material contradicts (../shared/notes/esr-cli.md, corrections 1 and 3, round 2)."""
    findings = []
    for config in configs:
        findings += _unit_addresses_on_ports(config) + _mpls_tunnel_firewall(config)
        for vpn in config.ipsec_vpns:
            block = f"security ipsec vpn {vpn.name}"
            if vpn.mode_keyword == "mode":
                findings.append(Finding(config, config.line_in(block, "mode"),
                                        f"security ipsec vpn {vpn.name}: `mode {vpn.mode}` is not ESR syntax: "
                                        f"ESR takes `type {vpn.mode}`"))
            if vpn.establish not in (None, "route", "immediate"):
                findings.append(Finding(config, config.line_in(block, "ike establish-tunnel"),
                                        f"security ipsec vpn {vpn.name}: `ike establish-tunnel {vpn.establish}` "
                                        f"is seen in no ESR source: DMVPN VPNs use `ike establish-tunnel route`"))
    return findings


def _unit_addresses_on_ports(config: EsrConfig) -> list[Finding]:
    """A cluster's per-unit addresses sit on bridges, the ports joining the bridges' VLANs [B, W]."""
    return [Finding(config, config.line_in(f"interface {port}", "ip address", " unit "),
                    f"interface {port}: per-unit addresses (`ip address A unit N`) belong on a bridge, which the "
                    "units' ports join by VLAN, as in real ESR clusters")
            for port in config.unit_addressed_ports]


def _mpls_tunnel_firewall(config: EsrConfig) -> list[Finding]:
    """The ESR manual (MPLS): the firewall must be off on interfaces where LDP and MPLS switching run."""
    if config.tunnel_name not in config.mpls_interfaces or config.tunnel_firewall_off:
        return []
    return [Finding(config, config.line_in(f"tunnel {config.tunnel_name}", "security-zone"),
                    f"tunnel {config.tunnel_name} runs MPLS switching (`forwarding interface {config.tunnel_name}`) "
                    "with its firewall on: the ESR manual wants `ip firewall disable` there")]


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
                           spoke_to_spoke_encrypted, bindings_name_vpns, esr_syntax, lans_advertised,
                           route_targets_pair)


def lint(configs: list[EsrConfig]) -> list[Finding]:
    """Every rule over one lab's configurations, findings in file and line order."""
    findings = [f for rule in RULES for f in rule(configs)]
    unique = {str(f): f for f in findings}
    return sorted(unique.values(), key=lambda f: (str(f.config.path), f.line, f.message))
