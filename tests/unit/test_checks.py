"""Checks reason over parsed state: they pass on the lab's captured outputs and fail when the network
disagrees with the design. A collector that replays captured outputs stands in for live sessions."""

from __future__ import annotations

import copy
import dataclasses
import re
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from labkit.design import load_design
from labkit.verify.checks import ipsec, mpls, nhrp, routing
from labkit.verify.collect import Collector, Evidence, platform
from labkit.verify.engine import Check, run_check
from labkit.verify.parse import parse
from labkit.verify.state import to_models
from tests.conftest import FIXTURES, TOPOLOGIES


class Replay:
    """A Sessions stand-in answering each command with a captured output (tests/fixtures/frr)."""

    def __init__(self, outputs: dict[tuple[str, str], str]):
        self.outputs = outputs

    def get(self, node: str, session: str) -> Replay:
        """A view answering for `node`, sharing the outputs: checks look at nodes from parallel threads, so one
        shared `node` attribute could answer a node with another's output."""
        view = copy.copy(self)
        view.node = node
        return view

    def send(self, command: str, timeout: float | None = None) -> str:
        fact = next(k for k, s in platform("frr-lab").facts.items() if re.fullmatch(
            re.sub(r"\\\{\w+\\\}", ".+?", re.escape(s.command)), command))
        answer = self.outputs[(self.node, fact)]
        return answer.removeprefix("text:") if answer.startswith("text:") else (FIXTURES / "frr" / answer).read_text()


def run(check: Check, outputs: dict[tuple[str, str], str], tmp_path) -> tuple[str, str]:
    collector = Collector(Replay(outputs), {n: "frr-lab" for n in ("hub1", "spoke1", "spoke2", "spoke3")},
                          Evidence(tmp_path / "evidence", ("secret",)))
    result = run_check(dataclasses.replace(check, deadline_s=0), collector)
    return result.status, result.reason


def test_registration_check_passes_then_fails_on_wrong_nbma(tmp_path):
    design = load_design(TOPOLOGIES / "phase3.yml")
    outputs = {("hub1", "nhrp_cache"): "hub1_show_ip_nhrp_cache.txt"}
    assert run(nhrp.hub_registrations(design, design.hubs[0]), outputs, tmp_path)[0] == "pass"
    moved = dataclasses.replace(design.spokes[1], wan=design.spokes[2].wan)
    wrong = dataclasses.replace(design, spokes=(design.spokes[0], moved, design.spokes[2]))
    status, reason = run(nhrp.hub_registrations(wrong, wrong.hubs[0]), outputs, tmp_path)
    assert status == "fail" and "spoke2 registered with NBMA 198.51.100.10, design says 198.51.100.14" in reason


def test_summary_check_fails_when_a_spoke_lan_leaks(tmp_path):
    design = load_design(TOPOLOGIES / "phase3.yml")
    outputs = {(s, "routes"): "spoke1_show_ip_route.txt" for s in ("spoke1", "spoke2", "spoke3")}
    status, reason = run(routing.spoke_routes(design), outputs, tmp_path)
    assert status == "pass", reason
    # a spoke whose LAN is a prefix the spokes learn from BGP (here 10.255.0.0/24) counts as leaked
    leaky = dataclasses.replace(design.spokes[2], lan=IPv4Interface("10.255.0.1/24"))
    leaked = dataclasses.replace(design, spokes=(*design.spokes[:2], leaky))
    status, reason = run(routing.spoke_routes(leaked), outputs, tmp_path)
    assert status == "fail" and "specific spoke LANs leaked past the summary: ['10.255.0.0/24']" in reason



def test_hub_routes_need_every_spoke_lan_via_its_spoke(tmp_path):
    """A hub whose BGP route back to a spoke LAN is missing blackholes that spoke's traffic under its summary."""
    design = load_design(TOPOLOGIES / "phase3.yml")
    capture = (FIXTURES / "frr" / "hub1_show_ip_route.txt").read_text()
    assert run(routing.hub_routes(design), {("hub1", "routes"): "hub1_show_ip_route.txt"}, tmp_path)[0] == "pass"
    without = "".join(line for line in capture.splitlines(keepends=True)
                      if "172.16.2.0/24" not in line and "via 10.255.0.12, gre1" not in line)
    status, reason = run(routing.hub_routes(design), {("hub1", "routes"): "text:" + without}, tmp_path)
    assert status == "fail" and "hub1: no BGP route via the spoke to spoke2's LAN 172.16.2.0/24" in reason, reason

def test_sa_check_fails_without_an_sa_to_the_peer(tmp_path):
    design = load_design(TOPOLOGIES / "phase3.yml")
    outputs = {("spoke1", "ike_sas"): "spoke1_swanctl_list_sas.txt"}
    assert run(ipsec.spoke_spoke_sa(design, design.spokes[0], design.spokes[1]), outputs, tmp_path)[0] == "pass"
    status, reason = run(ipsec.spoke_spoke_sa(design, design.spokes[0], design.spokes[2]), outputs, tmp_path)
    assert status == "fail" and "no IKE SA with 198.51.100.14" in reason


def test_unparsable_output_fails_the_check_with_evidence(tmp_path):
    design = load_design(TOPOLOGIES / "phase3.yml")
    outputs = {("hub1", "nhrp_cache"): "spoke1_ping.txt"}  # not an NHRP cache at all
    status, reason = run(nhrp.hub_registrations(design, design.hubs[0]), outputs, tmp_path)
    assert status == "fail" and "not recognised by template frr/show_ip_nhrp_cache.ttp" in reason
    assert list((tmp_path / "evidence" / "hub1").glob("*.txt"))


def test_a_refused_command_fails_the_check(tmp_path):
    design = load_design(TOPOLOGIES / "phase3.yml")
    src, dst = design.spokes[0], design.spokes[1]
    outputs = {("spoke1", "nhrp_shortcuts"): "spoke3_show_ip_nhrp_shortcut_empty.txt",
               ("spoke1", "clear_shortcuts"): "text:% No entries\n"}  # vtysh's answer when nothing to clear
    assert run(nhrp.shortcut_absent(design, src, dst, clear_first=True), outputs, tmp_path)[0] == "pass"
    # hand-made: the form of vtysh's refusal of a command it does not know
    outputs[("spoke1", "clear_shortcuts")] = "text:% Unknown command: clear ip nhrp shortcut\n"
    status, reason = run(nhrp.shortcut_absent(design, src, dst, clear_first=True), outputs, tmp_path)
    assert status == "fail" and "spoke1 refused `clear ip nhrp shortcut`: % Unknown command" in reason


def test_phase1_check_fails_when_a_spoke_resolved_another(tmp_path):
    design = load_design(TOPOLOGIES / "phase1.yml")
    clean_cache = ("text:Iface    Type     Protocol                 NBMA                     Claimed NBMA"
                   "             Flags  Identity\n"
                   "gre1     nhs      10.255.0.1               198.51.100.2             198.51.100.2"
                   "              T     \n")
    hub_only_sas = "text:labkit-rc=0\n"
    clean = {(s, f): v for s in ("spoke1", "spoke2", "spoke3")
             for f, v in (("nhrp_cache", clean_cache), ("ike_sas", hub_only_sas))}
    assert run(nhrp.no_spoke_peering(design), clean, tmp_path)[0] == "pass"
    # the phase 3 capture: spoke1 resolved spoke2 (10.255.0.12 -> 198.51.100.10) and has an SA with it
    dirty = clean | {("spoke1", "nhrp_cache"): "spoke1_show_ip_nhrp_cache.txt",
                     ("spoke1", "ike_sas"): "spoke1_swanctl_list_sas.txt"}
    status, reason = run(nhrp.no_spoke_peering(design), dirty, tmp_path)
    assert status == "fail"
    assert "spoke2: NHRP dynamic entry 10.255.0.12 -> 198.51.100.10" in reason
    assert "spoke2: IKE SA (up) with 198.51.100.10" in reason


def test_vrf_routes_check_passes_then_fails_on_a_wrong_next_hop(tmp_path):
    """Replayed from the MPLS lab's VRF CORP tables (the design narrowed to CORP, which was captured)."""
    full = load_design(TOPOLOGIES / "mpls.yml")
    design = dataclasses.replace(full, mpls=dataclasses.replace(full.mpls, vrfs=full.mpls.vrfs[:1]))
    outputs = {("hub1", "vrf_routes"): "hub1_show_ip_route_vrf_corp.txt"}
    outputs |= {(s.name, "vrf_routes"): "spoke2_show_ip_route_vrf_corp.txt" for s in design.spokes}
    status, reason = run(mpls.vrf_routes(design), outputs, tmp_path)
    assert status == "pass", reason
    moved = dataclasses.replace(design.spokes[1], tunnel=design.spokes[2].tunnel)
    wrong = dataclasses.replace(design, spokes=(design.spokes[0], moved, design.spokes[2]))
    status, reason = run(mpls.vrf_routes(wrong), outputs, tmp_path)
    assert status == "fail" and "hub1 vrf CORP: 10.11.2.0/24 via 10.255.0.12, expected spoke2 (10.255.0.13)" in reason


def test_a_reflected_hq_route_counts_as_via_the_hub_it_resolves_through():
    """Phase 2 with an HQ core router behind two hubs (real capture): the hubs reflect the core's route with its own
    address as next hop, which the spoke reaches through hq1's HQ segment route: traffic to HQ goes through hq1."""
    routes = to_models("Route", parse("frr/show_ip_route",
                                      (FIXTURES / "frr" / "shape_spoke1_show_ip_route_reflected_hq.txt").read_text()))
    hubs, tunnel = {IPv4Address("172.30.0.1"), IPv4Address("172.30.0.2")}, IPv4Network("172.30.0.0/24")
    hq_route = routing.best_bgp(routes, IPv4Address("10.61.0.1"))
    assert hq_route.nexthop == IPv4Address("10.60.0.10")
    assert routing.through_hub(routes, hq_route.nexthop, hubs, tunnel) == IPv4Address("172.30.0.1")
    assert routing.through_hub(routes, IPv4Address("172.30.0.12"), hubs, tunnel) is None  # another spoke, direct
    assert routing.through_hub(routes, IPv4Address("192.0.2.1"), hubs, tunnel) is None  # no route to it
