"""Round trip: ESR configurations parsed back into the normalised model and compared with the node plan
of the design they were generated from (addresses, NHS/NBMA mappings, proposals, SA lifetimes, BGP neighbours with
their update source, VPNv4 and timers, the hub's listen range for spokes, NHRP knobs, the tunnel's firewall, VRFs,
a cluster's bridges and ports). Both units of a cluster are compared with its one configuration. The IPsec bindings
are compared once the parser reads all of them (issue 11)."""

from __future__ import annotations

from ipaddress import IPv4Interface, IPv4Network

from labkit.design.model import Design, Proposal
from labkit.plan import NodePlan, plan_design
from labkit.plan.model import ClusterBridge
from labkit.platforms.esr.lint.rules import Finding
from labkit.platforms.esr.running_config import EsrConfig, EsrProposal
from labkit.platforms.esr.syntax import ESR_CIPHER, ESR_HASH


def _esr(proposal: Proposal) -> EsrProposal:
    return EsrProposal(ESR_CIPHER[proposal.encryption],
                       ESR_HASH[proposal.integrity] if proposal.integrity else None, proposal.dh_group)


def _expected(design: Design, plan: NodePlan) -> dict[str, tuple[object, str]]:
    """What the node plan says, by field: (value, line anchor in the config)."""
    sessions = plan.bgp.sessions
    group = plan.bgp.spoke_group
    bfd = [s.bfd for s in sessions] + ([group.bfd] if group else [])
    expected: dict[str, tuple[object, str]] = {
        "tunnel address": (plan.tunnel, "tunnel gre"),
        "NBMA address": (plan.nbma, "tunnel gre"),
        "IKE proposal": (_esr(design.ipsec.ike_proposal), "security ike proposal"),
        "IPsec proposal": (_esr(design.ipsec.esp_proposal), "security ipsec proposal"),
        "IKE SA lifetime": (plan.ike_lifetime_s, "security ike policy"),
        "IPsec SA lifetime": (plan.sa_lifetime_s, "security ipsec policy"),
        "IPsec mode": (plan.ipsec_mode, "security ipsec vpn"),
        "BGP AS": (plan.bgp.asn, "router bgp"),
        "BGP neighbours": ({_peer(s.address, s.update_source, s.vpnv4) for s in sessions}, "router bgp"),
        "BGP listen ranges": ({_listen(group.listen_range, group.route_reflector_client, group.next_hop_self)}
                              if group else set(), "router bgp"),
        "BGP peer group": ({_peer(group.name, group.update_source, group.vpnv4)} if group else set(), "router bgp"),
        "BGP timers (keepalive, holdtime)": ({(plan.bgp.keepalive, plan.bgp.holdtime)} if sessions or group else set(),
                                             "router bgp"),
        "BFD on every neighbour": (bool(bfd) and all(bfd), "router bgp"),
        "NHRP holding time": (plan.nhrp.holdtime, "ip nhrp holding-time"),
        "ip nhrp redirect": (plan.nhrp.redirect, "tunnel gre"),
        "ip nhrp shortcut": (plan.nhrp.shortcut, "tunnel gre"),
        "VRFs": ({(v.name, v.rd, v.route_target, v.lan.network) for v in plan.vrfs}, "ip vrf"),
        "firewall off on the tunnel": (plan.tunnel_zone is None, "tunnel gre"),
        "cluster bridges (number, VRRP address, unit addresses)": (_planned_bridges(plan), "bridge"),
        "ports in the bridges' VLANs": ({f"{m.port} in bridge {b.number}" for b in _cluster_bridges(plan)
                                         for m in b.members}, "switchport access vlan"),
    }
    if plan.nhrp.nhs:
        expected["NHS"] = (tuple(n.tunnel for n in plan.nhrp.nhs), "ip nhrp nhs")
        expected["NHS -> NBMA"] = ({n.tunnel: n.nbma for n in plan.nhrp.nhs}, "ip nhrp map")
    return expected


def _found(config: EsrConfig, plan: NodePlan) -> dict[str, object]:
    """The same fields as read from the parsed config."""
    lans = {v.lan.network for v in plan.vrfs}
    bfd = [n.bfd for n in config.neighbors] + [g.bfd for g in config.peer_groups]
    return {
        "tunnel address": config.tunnel,
        "NBMA address": config.nbma,
        "IKE proposal": config.ike,
        "IPsec proposal": config.esp,
        "IKE SA lifetime": config.ike_lifetime,
        "IPsec SA lifetime": config.sa_lifetime,
        "IPsec mode": config.ipsec_mode,
        "BGP AS": config.asn,
        "BGP neighbours": {_peer(n.address, n.update_source, n.vpnv4) for n in config.neighbors},
        "BGP listen ranges": {_listen(r, g.rr_client, g.next_hop_self) for g in config.peer_groups
                              for r in g.listen_ranges},
        "BGP peer group": {_peer(g.name, g.update_source, g.vpnv4) for g in config.peer_groups},
        "BGP timers (keepalive, holdtime)": {p.timers for p in (*config.neighbors, *config.peer_groups)},
        "BFD on every neighbour": bool(bfd) and all(bfd),
        "NHRP holding time": config.nhrp_holdtime,
        "ip nhrp redirect": config.redirect,
        "ip nhrp shortcut": config.shortcut,
        "VRFs": {(v.name, v.rd, v.rt_export, n) for v in config.vrfs for n in v.networks
                 if v.rt_import == v.rt_export and n in lans},
        "NHS": config.nhs,
        "NHS -> NBMA": config.maps,
        "firewall off on the tunnel": config.tunnel_firewall_off,
        "cluster bridges (number, VRRP address, unit addresses)": {_bridge(b.number, b.vip, b.unit_addresses)
                                                                   for b in config.bridges},
        "ports in the bridges' VLANs": {f"{port} in bridge {b.number}" for port, vlan in config.access_vlans.items()
                                        for b in config.bridges if b.vlan == vlan},
    }


def _cluster_bridges(plan: NodePlan) -> tuple[ClusterBridge, ...]:
    return plan.cluster.bridges if plan.cluster else ()


def _planned_bridges(plan: NodePlan) -> set[str]:
    return {_bridge(b.number, b.vip, tuple((m.unit, m.address) for m in b.members)) for b in _cluster_bridges(plan)}


def _bridge(number: int, vip: IPv4Interface | None, unit_addresses: tuple[tuple[int, IPv4Interface], ...]) -> str:
    """A bridge as a finding shows it: `bridge 20 vrrp 10.0.0.254/24 unit 1 10.0.0.1/24 unit 2 10.0.0.2/24`."""
    return " ".join([f"bridge {number} vrrp {vip}"] + [f"unit {unit} {address}" for unit, address in unit_addresses])


def _peer(name: object, update_source: object, vpnv4: bool) -> str:
    """A BGP neighbour or peer group and what its sessions carry, as a finding shows them."""
    return " ".join([str(name), f"update-source {update_source}"] + ["vpnv4"] * vpnv4)


def _listen(listen_range: IPv4Network, rr_client: bool, next_hop_self: bool) -> str:
    """A listen range and the options of its peer group, as a finding shows them."""
    return " ".join([str(listen_range)] + ["route-reflector-client"] * rr_client + ["next-hop-self"] * next_hop_self)


def _has_address(config: EsrConfig, address: IPv4Interface) -> bool:
    return any(address in found for found in config.addresses.values())


def compare(design: Design, configs: list[EsrConfig]) -> list[Finding]:
    """Differences between each node's plan and the configuration that names it."""
    by_name = {name: c for c in configs for name in c.hostnames}  # a cluster's one file names both units
    findings = []
    for plan in plan_design(design).values():
        config = by_name.get(plan.name)
        if config is None:
            continue  # reported by the caller, which knows where the configuration should be
        found = _found(config, plan)
        for field, (value, anchor) in _expected(design, plan).items():
            if found[field] != value:
                findings.append(Finding(config, config.line(anchor), f"{field}: config has {_text(found[field])}, "
                                        f"design {design.source} says {_text(value)}"))
        for what, address in (("WAN", plan.wan), ("LAN", plan.lan)):
            if not _has_address(config, address):
                findings.append(Finding(config, 1, f"{what} address {address} of the design is on no interface"))
    return findings


def _text(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(map(str, value))) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} -> {v}" for k, v in value.items()) + "}"
    if isinstance(value, tuple):
        return "(" + ", ".join(map(str, value)) + ")"
    return str(value)
