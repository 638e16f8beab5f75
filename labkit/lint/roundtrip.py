"""Round trip: ESR configurations parsed back into the normalised model and compared with the design
they were generated from (addresses, NHS/NBMA mappings, proposals, BGP neighbours, phase knobs, VRFs)."""

from __future__ import annotations

from ipaddress import IPv4Interface

from labkit.design.model import Design, Proposal, Site
from labkit.lint.esr_config import EsrConfig, EsrProposal
from labkit.lint.rules import Finding
from labkit.render.templates_env import ESR_CIPHER, ESR_HASH


def _esr(proposal: Proposal) -> EsrProposal:
    return EsrProposal(ESR_CIPHER[proposal.encryption],
                       ESR_HASH[proposal.integrity] if proposal.integrity else None, proposal.dh_group)


def _expected(design: Design, site: Site) -> dict[str, tuple[object, str]]:
    """What the design says, by field: (value, line anchor in the config)."""
    routing = design.routing
    neighbors = {address for _, address in design.bgp_neighbors(site.name)}
    expected: dict[str, tuple[object, str]] = {
        "tunnel address": (IPv4Interface(f"{site.tunnel}/{design.overlay.tunnel_network.prefixlen}"), "tunnel gre"),
        "NBMA address": (site.nbma, "tunnel gre"),
        "IKE proposal": (_esr(design.ipsec.ike_proposal), "security ike proposal"),
        "IPsec proposal": (_esr(design.ipsec.esp_proposal), "security ipsec proposal"),
        "IPsec mode": (design.ipsec.mode, "security ipsec vpn"),
        "BGP AS": (routing.asn, "router bgp"),
        "BGP neighbours": (neighbors, "router bgp"),
        "BFD on every neighbour": (bool(routing.bfd), "router bgp"),
        "ip nhrp redirect": (site.role == "hub" and design.phase == 3, "tunnel gre"),
        "ip nhrp shortcut": (site.role == "spoke" and design.phase >= 2, "tunnel gre"),
        "VRFs": ({(v.name, f"{site.tunnel}:{v.id}", f"{routing.asn}:{v.id}", lan.network)
                  for v, lan in design.vrf_lans(site.name)}, "ip vrf"),
    }
    if site.role == "spoke":
        expected["NHS"] = (tuple(h.tunnel for h in design.nhs), "ip nhrp nhs")
        expected["NHS -> NBMA"] = ({h.tunnel: h.nbma for h in design.nhs}, "ip nhrp map")
    return expected


def _found(config: EsrConfig, design: Design, site: Site) -> dict[str, object]:
    return {
        "tunnel address": config.tunnel,
        "NBMA address": config.nbma,
        "IKE proposal": config.ike,
        "IPsec proposal": config.esp,
        "IPsec mode": config.ipsec_mode,
        "BGP AS": config.asn,
        "BGP neighbours": {n.address for n in config.neighbors},
        "BFD on every neighbour": bool(config.neighbors) and all(n.bfd for n in config.neighbors),
        "ip nhrp redirect": config.redirect,
        "ip nhrp shortcut": config.shortcut,
        "VRFs": {(v.name, v.rd, v.rt_export, n) for v in config.vrfs for n in v.networks
                 if v.rt_import == v.rt_export and any(n == lan.network for _, lan in design.vrf_lans(site.name))},
        "NHS": config.nhs,
        "NHS -> NBMA": config.maps,
    }


def _has_address(config: EsrConfig, address: IPv4Interface) -> bool:
    return any(address in found for found in config.addresses.values())


def compare(design: Design, configs: list[EsrConfig]) -> list[Finding]:
    """Differences between each site of the design and the configuration that names it."""
    by_name = {name: c for c in configs for name in c.hostnames}
    findings = []
    for site in design.sites:
        config = by_name.get(site.name)
        if config is None:
            continue  # reported by the caller, which knows where the configuration should be
        found = _found(config, design, site)
        for field, (value, anchor) in _expected(design, site).items():
            if found[field] != value:
                findings.append(Finding(config, config.line(anchor), f"{field}: config has {_text(found[field])}, "
                                        f"design {design.source} says {_text(value)}"))
        for what, address in (("WAN", site.wan), ("LAN", site.lan)):
            if not _has_address(config, address):
                findings.append(Finding(config, 1, f"{what} address {address} of the design is on no interface"))
    return findings


def _text(value: object) -> str:
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(map(str, value))) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} -> {v}" for k, v in value.items()) + "}"
    if isinstance(value, tuple):
        return "(" + ", ".join(map(str, value)) + ")"
    return str(value)
