"""TTP templates against outputs captured from the running phase 3 lab (tests/fixtures/README.md)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest
import yaml

from labkit.platforms.rows import up_down_s
from labkit.verify.collect import platform
from labkit.verify.parse import ParseError, parse
from labkit.verify.state import to_models
from tests.conftest import FIXTURES

LAB = platform("frr-lab")


def facts(fact: str, fixture: str) -> list:
    spec = LAB.facts[fact]
    return to_models(spec.model, parse(spec.template, (FIXTURES / "frr" / fixture).read_text()))


def test_hub_nhrp_cache_lists_each_spoke():
    entries = facts("nhrp_cache", "hub1_show_ip_nhrp_cache.txt")
    dynamic = {e.protocol: e.nbma for e in entries if e.kind == "dynamic"}
    assert dynamic == {IPv4Address("10.255.0.11"): IPv4Address("198.51.100.6"),
                       IPv4Address("10.255.0.12"): IPv4Address("198.51.100.10"),
                       IPv4Address("10.255.0.13"): IPv4Address("198.51.100.14")}
    assert [e.kind for e in entries].count("local") == 1


def test_spoke_nhs():
    (nhs,) = facts("nhrp_nhs", "spoke1_show_ip_nhrp_nhs.txt")
    assert (nhs.nbma, nhs.protocol) == (IPv4Address("198.51.100.2"), IPv4Address("10.255.0.1"))


def test_spoke_nhs_before_registration():
    (nhs,) = facts("nhrp_nhs", "spoke1_show_ip_nhrp_nhs_unregistered.txt")
    assert (nhs.nbma, nhs.protocol) == (IPv4Address("198.51.100.2"), None)


def test_shortcuts_present_and_empty():
    (shortcut,) = facts("nhrp_shortcuts", "spoke1_show_ip_nhrp_shortcut.txt")
    assert (shortcut.prefix, shortcut.via) == (IPv4Network("172.16.2.0/24"), IPv4Address("10.255.0.12"))
    assert facts("nhrp_shortcuts", "spoke3_show_ip_nhrp_shortcut_empty.txt") == []


def test_bgp_summary_dynamic_neighbours():
    peers = facts("bgp_peers", "hub1_show_bgp_summary.txt")
    assert {p.neighbor for p in peers} == {IPv4Address(f"10.255.0.1{i}") for i in (1, 2, 3)}
    assert {(p.state, p.remote_as, p.prefixes_received, p.uptime_s) for p in peers} == {("up", 65000, 1, 71)}


@pytest.mark.parametrize(("column", "seconds"), [
    ("00:01:11", 71), ("1d02h03m", 93780), ("02w1d03h", 1306800), ("01y02w3d", 33004800),  # FRR, by age
    ("00,00:05:12", 312), ("3,01:00:00", 262800),  # ESR: days, then a clock
    ("never", None)])
def test_a_bgp_sessions_up_down_column_in_seconds(column: str, seconds: int | None):
    assert up_down_s(column) == seconds


def test_routes_with_shortcut_and_summary():
    routes = {r.prefix: r for r in facts("routes", "spoke1_show_ip_route_shortcut.txt")}
    shortcut = routes[IPv4Network("172.16.2.0/24")]
    assert (shortcut.origin, shortcut.nexthop, shortcut.interface) == ("nhrp", IPv4Address("10.255.0.12"), "gre1")
    summary = routes[IPv4Network("172.16.0.0/16")]
    assert (summary.origin, summary.nexthop, summary.selected) == ("bgp", IPv4Address("10.255.0.1"), True)
    assert routes[IPv4Network("172.16.1.0/24")].origin == "connected"


def test_swanctl_sas_with_counters():
    sas = facts("ike_sas", "spoke1_swanctl_list_sas.txt")
    to_hub = [sa for sa in sas if sa.remote == IPv4Address("198.51.100.2")]
    assert to_hub and to_hub[0].state == "up"
    child = to_hub[0].children[0]
    assert (child.state, child.mode) == ("up", "transport")
    assert child.packets_out > 0 and child.packets_in > 0


def test_ping_traceroute_capture():
    (ping,) = facts("ping", "spoke1_ping.txt")
    assert (ping.sent, ping.received) == (10, 10)
    via_hub = facts("traceroute", "spoke1_traceroute_via_hub.txt")
    assert [str(h.address) for h in via_hub] == ["10.255.0.1", "172.16.2.1"]
    direct = facts("traceroute", "spoke1_traceroute_direct.txt")
    assert [str(h.address) for h in direct] == ["172.16.2.1"]
    packets = facts("capture", "inet_tcpdump.txt")
    assert len(packets) == 40 and {p.proto for p in packets} == {"ESP"}


def test_nhrp_cache_rows_with_an_ike_identity():
    entries = facts("nhrp_cache", "hub1_show_ip_nhrp_cache_identity.txt")
    assert sorted(str(e.protocol) for e in entries if e.kind == "dynamic") == ["10.255.0.11", "10.255.0.12",
                                                                                "10.255.0.13"]


def test_addresses_of_a_cluster_unit_holding_the_shared_address():
    addresses = facts("addresses", "hub2_ip_addr_eth1.txt")
    assert [str(a.address) for a in addresses] == ["198.51.100.4/29", "198.51.100.2/29"]


def test_failover_probe_counts_lost_packets_and_the_longest_gap():
    (probe,) = facts("probe_result", "spoke1_probe_wan_down.txt")
    assert (probe.sent, len(probe.answered), probe.lost) == (1000, 970, 30)
    assert probe.longest_gap() == 30  # one outage: 30 x 20 ms = 600 ms
    assert probe.tail_answered(50) == 1.0


def test_bfd_peers_and_routes_on_a_shared_segment():
    peers = facts("bfd_peers", "hub1_show_bfd_peers_brief.txt")
    assert {str(p.peer) for p in peers if p.status == "up"} == {"10.255.0.11", "10.255.0.12", "10.255.0.13",
                                                               "10.0.0.2", "10.0.0.10"}
    routes = {str(r.prefix): r for r in facts("routes", "hq_show_ip_route.txt") if r.origin == "bgp"}
    assert routes["172.16.0.0/16"].nexthop == IPv4Address("10.0.0.2") and routes["172.16.0.0/16"].interface == "br0"


@pytest.mark.parametrize("fact", sorted(f for f, s in LAB.facts.items() if s.template))
def test_unknown_layout_is_an_error_not_an_empty_result(fact: str):
    spec = LAB.facts[fact]
    with pytest.raises(ParseError, match="not recognised"):
        parse(spec.template, "% Unknown command: show ip nhrp\nsomething else entirely\n")
    with pytest.raises(ParseError, match="empty output"):
        parse(spec.template, "")


def test_vrf_routes_carry_their_labels():
    """Captured from the MPLS lab (topologies/mpls.yml): VPN routes leaked into VRF CORP."""
    hub = {str(r.prefix): r for r in facts("vrf_routes", "hub1_show_ip_route_vrf_corp.txt")}
    assert hub["10.11.2.0/24"].labels == (16,) and hub["10.11.2.0/24"].nexthop == IPv4Address("10.255.0.12")
    assert hub["10.11.0.0/16"].origin == "static" and hub["10.10.0.0/24"].labels == ()
    spoke = {str(r.prefix): r for r in facts("vrf_routes", "spoke2_show_ip_route_vrf_corp.txt")}
    assert set(spoke) == {"10.10.0.0/24", "10.11.0.0/16", "10.11.2.0/24"}
    assert spoke["10.11.0.0/16"].labels == (16,) and spoke["10.11.0.0/16"].selected


def test_vpn_summary_and_labelled_tunnel_capture():
    peers = facts("vpn_peers", "hub1_show_bgp_ipv4_vpn_summary.txt")
    assert {(str(p.neighbor), p.state, p.prefixes_received) for p in peers} == {
        ("10.255.0.11", "up", 1), ("10.255.0.12", "up", 1), ("10.255.0.13", "up", 1)}
    packets = facts("tunnel_capture", "hub1_tcpdump_gre1_mpls.txt")  # BGP packets in the capture are left out
    assert len(packets) == 8 and {p.labels for p in packets} == {(16,)}
    assert [p.direction for p in packets[:2]] == ["in", "out"]
    assert {(str(p.src), str(p.dst)) for p in packets} == {("10.11.2.1", "10.11.3.1"), ("10.11.3.1", "10.11.2.1")}


@pytest.mark.parametrize("fact", sorted(platform("eltex-esr").facts))
def test_esr_templates_fail_loudly_on_an_unknown_layout(fact: str):
    spec = platform("eltex-esr").facts[fact]
    for indent in ("", "  "):
        with pytest.raises(ParseError, match="not recognised"):
            parse(spec.template, f"{indent}Syntax error: Unrecognized command\n{indent}something else entirely\n")


ESR = platform("eltex-esr")
ESR_SHOW = FIXTURES / "esr" / "show"  # hand-made after public ESR 1.34.4 output [B]; see each file's header


def esr_facts(fact: str, text: str) -> list:
    spec = ESR.facts[fact]
    return to_models(spec.model, parse(spec.template, text))


def test_esr_bgp_summary_indented_and_flat():
    indented = esr_facts("bgp_peers", (ESR_SHOW / "bgp_summary_indented.txt").read_text())
    assert {(str(p.neighbor), p.state, p.prefixes_received, p.uptime_s) for p in indented} == {
        ("10.255.0.11", "up", 1, 312), ("10.255.0.12", "up", 1, 310),
        ("10.255.0.13", "connect", None, None)}
    assert esr_facts("bgp_peers", (ESR_SHOW / "bgp_summary_flat.txt").read_text()) == indented


def test_esr_routes_in_the_fib_are_selected():
    routes = {str(r.prefix): r for r in esr_facts("routes", (ESR_SHOW / "show_ip_route_fib.txt").read_text())}
    dc = routes["192.168.100.0/24"]
    assert (dc.origin, dc.selected, str(dc.nexthop), dc.interface) == ("bgp", True, "10.10.10.19", "br127")
    assert not routes["192.168.200.0/24"].selected  # no `*`: not in the FIB
    assert (routes["172.16.2.0/24"].origin, routes["172.16.2.0/24"].selected) == ("nhrp", True)
    assert routes["172.16.1.0/24"].interface == "gi1/0/2" and len(routes) == 5


def _esr_outputs() -> dict[str, str]:
    """Every ESR fact's output in the phase 3 replay fixtures, ping filled in."""
    replay = yaml.safe_load((FIXTURES / "esr" / "phase3" / "spoke1.yml").read_text())
    by_command = dict(replay["commands"])
    by_command["ping"] = next(iter(replay["patterns"].values())).format(target="172.16.2.1", source="172.16.1.1",
                                                                         count=5)
    return {fact: by_command[spec.command.split(" {")[0]] for fact, spec in ESR.facts.items()
            if spec.command.split(" {")[0] in by_command}


@pytest.mark.parametrize("fact", sorted(_esr_outputs()))
def test_esr_templates_accept_indented_and_flat_layouts(fact: str):
    flat = "".join(line.lstrip(" ") for line in _esr_outputs()[fact].splitlines(keepends=True))
    indented = "".join(f"  {line}" if line.strip() else line for line in flat.splitlines(keepends=True))
    models = esr_facts(fact, flat)
    assert models and esr_facts(fact, indented) == models


def nat_facts(fact: str, fixture: str, text: str | None = None) -> list:
    """The outputs of spokes behind PATs, from the nat lab's run of 2026-11-27 (tests/fixtures/nat/README.md), or
    `text` derived from one."""
    spec = LAB.facts[fact]
    return to_models(spec.model, parse(spec.template, text or (FIXTURES / "nat" / fixture).read_text()))


def test_the_nhrp_cache_keeps_the_nbma_a_peer_claims_beside_the_one_it_is_reached_at():
    entries = {e.protocol: e for e in nat_facts("nhrp_cache", "hub1_nhrp_cache.txt")}
    spoke1, spoke2 = entries[IPv4Address("10.255.0.11")], entries[IPv4Address("10.255.0.12")]
    assert (spoke1.nbma, spoke1.claimed) == (IPv4Address("198.51.100.6"), IPv4Address("192.168.0.6"))
    assert spoke2.nbma == spoke2.claimed == IPv4Address("198.51.100.10")
    assert {e.claimed for e in facts("nhrp_cache", "hub1_show_ip_nhrp_cache.txt")} == {
        e.nbma for e in facts("nhrp_cache", "hub1_show_ip_nhrp_cache.txt")}  # the phase 3 lab: nobody behind a PAT


def test_an_sa_through_a_pat_shows_its_port_and_esp_in_udp():
    by_peer = {sa.remote: sa for sa in nat_facts("ike_sas", "hub1_list_sas.txt")}
    spoke1, spoke2, spoke3 = (by_peer[IPv4Address(f"198.51.100.{n}")] for n in (6, 10, 14))
    # 4500 behind both PATs: the transport's SNAT (--to-source OUTSIDE:1024-65535) keeps a source port already in
    # its range while that is free, so neither PAT translated the port (a real PAT may: the checks allow any)
    assert (spoke1.remote_port, spoke2.remote_port, spoke3.remote_port) == (4500, 500, 4500)
    assert [(c.mode, c.udp_encap) for c in (*spoke1.children, *spoke2.children)] == [
        ("transport", True), ("transport", False)]  # the design's mode, whatever the encapsulation


def test_the_transport_capture_counts_esp_in_udp_as_esp_and_leaves_keepalives_out():
    text = (FIXTURES / "nat" / "inet_tcpdump.txt").read_text()
    packets = nat_facts("capture", "inet_tcpdump.txt")
    assert len(packets) == 40 == text.count(" ESP(") and {p.proto for p in packets} == {"ESP"}
    assert {p.src for p in packets} == {IPv4Address(a) for a in (
        "192.168.0.6", "198.51.100.6", "192.168.0.14", "198.51.100.14", "198.51.100.2", "198.51.100.10")}
    # the run caught no NAT keepalive (one per 20 s of silence, strongSwan's default): one derived from the first
    # packet's line as tcpdump's print-isakmp.c prints it (`isakmp-nat-keep-alive`) is not a packet of the tunnel
    first = next(line for line in text.splitlines(keepends=True) if "UDP-encap" in line)
    keepalive = first.split(" UDP-encap: ")[0] + " isakmp-nat-keep-alive\n"
    assert nat_facts("capture", "", text.replace(first, first + keepalive)) == packets
