"""Lab-to-ESR ties: for each behaviour a lab verifies on the stand-ins, the same node's ESR config carries
the lines that produce it on ESR. The expectations come from the node plan, the lines from the config."""

from __future__ import annotations

import pytest

from labkit.design import load_design
from labkit.plan import NodePlan, plan_design
from labkit.render.generate import device_config
from tests.conftest import TOPOLOGIES

DESIGNS = sorted(TOPOLOGIES.glob("*.yml"))


def _block(config: str, header: str) -> list[str]:
    """The lines of the block opened by `header` (indentation stripped), up to its own `exit`."""
    lines = config.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == header:
            indent = line[: len(line) - len(line.lstrip())]
            body = []
            for inner in lines[i + 1:]:
                if inner == f"{indent}exit":
                    return body
                body.append(inner.strip())
    return []


def missing_ties(plan: NodePlan, config: str) -> list[str]:
    """Each ESR line a lab-proven behaviour of the node needs and the config lacks, with the behaviour."""
    missing = []
    tunnel = _block(config, "tunnel gre 1")
    if plan.nhrp.shortcut:  # the phase 2/3 labs prove an encrypted spoke-to-spoke SA
        dynamic = [line for line in tunnel if line.startswith("ip nhrp ipsec ") and line.endswith(" dynamic")]
        vpns = [line.split()[3] for line in dynamic]
        if not any("remote network any" in _block(config, f"security ike gateway {vpn}") for vpn in vpns):
            missing.append("spoke-to-spoke SA: a dynamic `ip nhrp ipsec` binding whose gateway takes any peer")
    for nhs in plan.nhrp.nhs:  # the labs prove registration with every NHS
        for line in (f"ip nhrp nhs {nhs.tunnel}", f"ip nhrp map {nhs.tunnel} {nhs.nbma}"):
            if line not in tunnel:
                missing.append(f"registration with {nhs.name}: {line}")
    for session in plan.bgp.sessions:  # the failover lab proves BFD on each session
        if session.bfd and "fall-over bfd" not in _block(config, f"neighbor {session.address}"):
            missing.append(f"BFD with {session.name}: fall-over bfd")
    group = plan.bgp.spoke_group
    if group:  # the labs prove a session from every spoke; the failover lab proves BFD on it
        line = f"listen-range {group.listen_range} peer-group {group.name}"
        if line not in _block(config, f"router bgp {plan.bgp.asn}"):
            missing.append(f"sessions with every spoke: {line}")
        if group.bfd and "fall-over bfd" not in _block(config, f"peer-group {group.name}"):
            missing.append("BFD with every spoke: fall-over bfd")
    for vrf in plan.vrfs:  # the MPLS lab proves each VRF's isolation
        block = _block(config, f"ip vrf {vrf.name}")
        for line in (f"rd {vrf.rd}", f"route-target import {vrf.route_target}",
                     f"route-target export {vrf.route_target}"):
            if line not in block:
                missing.append(f"isolation of {vrf.name}: {line}")
    return missing


def _nodes():
    for design_file in DESIGNS:
        design = load_design(design_file)
        plans = plan_design(design)
        for site in design.sites:
            yield pytest.param(plans[site.name], device_config(design, site), id=f"{design_file.stem}-{site.name}")


@pytest.mark.parametrize(("plan", "config"), list(_nodes()))
def test_esr_config_carries_what_the_lab_proves(plan: NodePlan, config: str):
    assert missing_ties(plan, config) == []


def _tie_lines(plan: NodePlan, config: str) -> list[str]:
    """Config lines that some tie of this node rests on."""
    prefixes = ["ip nhrp nhs ", "ip nhrp map ", "fall-over bfd", "rd ", "route-target ", "listen-range "]
    if plan.nhrp.shortcut:
        prefixes.append("ip nhrp ipsec DMVPN-SPOKE dynamic")
    return sorted({line for line in config.splitlines() if line.strip().startswith(tuple(prefixes))})


@pytest.mark.parametrize(("scenario", "node"), [("phase2", "spoke1"), ("failover", "spoke1"), ("mpls", "spoke1"),
                                                ("failover", "hub1")])
def test_removing_any_tied_line_fails_the_tie(scenario: str, node: str):
    design = load_design(TOPOLOGIES / f"{scenario}.yml")
    plan = plan_design(design)[node]
    config = device_config(design, design.site(node))
    lines = _tie_lines(plan, config)
    assert lines
    for line in lines:
        broken = "".join(f"{raw}\n" for raw in config.splitlines() if raw != line)
        assert missing_ties(plan, broken), f"removing {line.strip()!r} went unnoticed"


def test_phase1_spoke_needs_no_dynamic_binding():
    design = load_design(TOPOLOGIES / "phase1.yml")
    plan = plan_design(design)["spoke1"]
    assert not plan.nhrp.shortcut and [b.kind for b in plan.bindings] == ["static"]
    tunnel = _block(device_config(design, design.site("spoke1")), "tunnel gre 1")
    assert [line for line in tunnel if line.startswith("ip nhrp ipsec ")] == ["ip nhrp ipsec DMVPN-HUB static"]
