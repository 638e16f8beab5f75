"""Spokes behind their own PAT (topologies/nat.yml): what the node plan decides for them and the transport router,
what every output makes of it, and the checks on replayed outputs: the outputs of the nat lab's run of 2026-11-27
(tests/fixtures/nat/README.md), each check also shown failing on a variant derived from them in the test."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

import pytest

from labkit.design import load_design
from labkit.plan import plan_design, transport_plan
from labkit.plan.model import PatPlan
from labkit.platforms.esr.provenance import classify
from labkit.render.clab import kernel_modules
from labkit.render.generate import node_files
from labkit.verify.checks import failover, ipsec, nat, paths
from labkit.verify.collect import Collector, Evidence, Unsupported
from labkit.verify.engine import CheckFailed, Context, run_check
from labkit.verify.parse import parse
from labkit.verify.state import to_models
from labkit.verify.suites.edge import CASES
from labkit.verify.suites.part import story_pair
from tests.conftest import FIXTURES, TOPOLOGIES
from tests.unit.test_checks import Replay

DESIGN = load_design(TOPOLOGIES / "nat.yml")
HUB, (SPOKE1, SPOKE2, SPOKE3) = DESIGN.hubs[0], DESIGN.spokes
NODES = ("inet", "hub1", "spoke1", "spoke2", "spoke3")


def fixture(name: str) -> str:
    return "text:" + (FIXTURES / "nat" / name).read_text()


def broken(text: str, old: str, new: str, count: int = 1) -> str:
    """`text` with `old` replaced by `new`, `count` times: a broken variant derived from a real capture (the
    replacement must hit, or the variant would be the capture itself)."""
    assert text.count(old) == count, (old, text.count(old))
    return text.replace(old, new)


def looking(sessions: Replay, tmp_path: Path) -> Context:
    return Context(Collector(sessions, {n: "frr-lab" for n in NODES}, Evidence(tmp_path / "ev", ())),
                   until=time.monotonic() + 30)


def run(check, sessions: Replay, tmp_path: Path) -> tuple[str, str]:
    collector = Collector(sessions, {n: "frr-lab" for n in NODES}, Evidence(tmp_path / "ev", ("secret",)),
                          lambda *a, **k: "")
    result = run_check(dataclasses.replace(check, deadline_s=0), collector)
    return result.status, result.reason


# -- the plan ------------------------------------------------------------------------------------------------

def test_a_spoke_behind_a_pat_is_planned_on_its_inside_link_and_seen_at_the_outside_address():
    plans = plan_design(DESIGN)
    spoke1 = plans["spoke1"]
    assert (spoke1.wan, spoke1.wan_gateway, spoke1.nbma, spoke1.pat_outside) == (
        IPv4Interface("192.168.0.6/30"), IPv4Address("192.168.0.5"), IPv4Address("192.168.0.6"),
        IPv4Address("198.51.100.6"))
    assert not spoke1.stand_in.ike_any_local_address  # IKE leaves from the inside address, as ESR's gateway does
    assert any("the PAT in front of this spoke" in r and "198.51.100.6" in r for r in spoke1.stand_in.reasons)
    assert any("pat_to_pat" in r for r in spoke1.stand_in.reasons)
    spoke2 = plans["spoke2"]
    assert (spoke2.wan, spoke2.nbma, spoke2.pat_outside) == (SPOKE2.wan, SPOKE2.nbma, None)
    assert plans["hub1"].pat_outside is None and all(n.nbma == HUB.nbma for n in spoke1.nhrp.nhs)


def test_the_transport_router_stands_in_for_each_pat():
    links = {link.site: link for link in transport_plan(DESIGN).links}
    assert links["spoke1"].address == IPv4Interface("192.168.0.5/30") and links["spoke1"].port == "eth2"
    assert links["spoke1"].pat == PatPlan(IPv4Network("192.168.0.4/30"), IPv4Address("198.51.100.6"), (1024, 65535))
    assert links["spoke2"].pat is None and links["spoke2"].address == IPv4Interface("198.51.100.9/30")
    assert transport_plan(DESIGN).bridge is None


def test_a_cluster_s_bridge_is_in_the_transport_plan():
    plan = transport_plan(load_design(TOPOLOGIES / "cluster.yml"))
    assert (str(plan.bridge.address), plan.bridge.ports, plan.bridge.units) == (
        "198.51.100.1/29", ("eth1", "eth2"), ("hub1", "hub2"))
    assert [link.site for link in plan.links] == ["spoke1", "spoke2", "spoke3"]


# -- what every output makes of it -----------------------------------------------------------------------------

FILES = {path: text for path, (text, _) in node_files(DESIGN).items()}


def test_the_transport_translates_each_inside_link_and_routes_nothing_to_the_outside_address():
    start = FILES["nodes/inet/labkit/start.sh"]
    assert "\naddr add 192.168.0.5/30 dev eth2   # to spoke1" in start
    assert "198.51.100.5" not in start  # nothing answers on spoke1's outside /30: it is only a translation
    for proto in ("udp", "tcp"):
        assert (f"\n-A POSTROUTING -s 192.168.0.4/30 -p {proto} -j SNAT --to-source "
                f"198.51.100.6:1024-65535") in start
    assert "\n-A POSTROUTING -s 192.168.0.4/30 -j SNAT --to-source 198.51.100.6\n" in start
    assert start.index("*nat\n") < start.index("-A POSTROUTING") < start.index("COMMIT\n")  # iptables-restore's input
    assert "\nroute add blackhole 198.51.100.6/32" in start and "\nroute add blackhole 198.51.100.14/32" in start
    assert "\naddr add 198.51.100.9/30 dev eth3   # to spoke2" in start and "198.51.100.10" not in start
    assert "nf_nat" in kernel_modules(DESIGN)
    assert "nf_nat" not in kernel_modules(load_design(TOPOLOGIES / "phase3.yml"))


def test_a_spoke_behind_a_pat_is_addressed_routed_and_keyed_on_its_inside_link():
    assert "\naddr add 192.168.0.6/30 dev eth1" in FILES["nodes/spoke1/labkit/start.sh"]
    assert "ip route 198.51.100.0/24 192.168.0.5\n" in FILES["nodes/spoke1/frr/frr.conf"]
    assert "local_addrs = 192.168.0.6\n" in FILES["nodes/spoke1/swanctl/swanctl.conf"]
    assert "local_addrs = 198.51.100.10\n" in FILES["nodes/spoke2/swanctl/swanctl.conf"]
    assert "ip nhrp nhs dynamic nbma 198.51.100.2" in FILES["nodes/spoke1/frr/frr.conf"]


def test_the_esr_config_of_a_spoke_behind_a_pat_uses_its_inside_address_and_says_nat_traversal_is_assumed():
    esr = FILES["esr/spoke1.cfg"]
    body = esr[esr.index("hostname spoke1"):]
    assert "  ip address 192.168.0.6/30\n" in body
    assert body.count("  local address 192.168.0.6\n") == 2  # both IKE gateways (to the hub, spoke to spoke)
    assert "  local network 192.168.0.6/32 protocol gre\n" in body
    assert "ip route 198.51.100.0/24 192.168.0.5\n" in body
    assert 'description "WAN (NBMA) to its PAT, outside 198.51.100.6"' in body
    assert "ESR is ASSUMED to detect the PAT" in esr
    assert "unclassified" not in {c.name for c in classify(body)}  # no NAT syntax made up
    assert "Behind a PAT" not in FILES["esr/spoke2.cfg"]


# -- the checks ------------------------------------------------------------------------------------------------

def test_the_transport_sees_esp_in_udp_as_esp_and_no_cleartext_gre():
    def esp_only(text: str) -> str:
        return ipsec.esp_only(to_models("Packet", parse("linux/tcpdump", text)), "inet", "spoke1 pinging hub1")

    capture = fixture("inet_tcpdump.txt")[5:]  # what ipsec.transport_capture saw: 32 ESP in UDP, 8 spoke2's plain ESP
    assert esp_only(capture) == "40 packets captured on inet: 40 ESP, 0 cleartext GRE"
    lines = capture.splitlines(keepends=True)
    in_udp = "".join(line for line in lines if "198.51.100.10" not in line)  # spoke2's plain ESP left out
    assert esp_only(in_udp) == "32 packets captured on inet: 32 ESP, 0 cleartext GRE"  # ESP in UDP alone counts
    # broken (derived): spoke2's 8 plain ESP packets turned into the cleartext GRE they would be without IPsec
    # (tcpdump's print-gre.c layout with the lab's GRE key 42; the inner packet reduced to its addresses)
    cleartext = "".join(re.sub(r"ESP\(spi=\w+,seq=\w+\), length (\d+)",
                               r"GREv0, key=0x2a, length \1: IP 10.255.0.12 > 10.255.0.1", line)
                        if "198.51.100.10" in line else line for line in lines)
    assert cleartext.count("GREv0") == 8
    with pytest.raises(CheckFailed, match="saw 8 cleartext GRE packets"):
        esp_only(cleartext)
    # broken: no packet at all (the header and the counters only): the positive control fails
    with pytest.raises(CheckFailed, match="saw no ESP"):
        esp_only("".join(line for line in lines if "IP " not in line))


def test_the_hub_maps_a_spoke_behind_a_pat_to_the_outside_address_claimed_inside(tmp_path: Path):
    check = nat.mapped_outside(DESIGN, HUB)
    cache = fixture("hub1_nhrp_cache.txt")
    status, reason = run(check, Replay({("hub1", "nhrp_cache"): cache}), tmp_path)
    assert status == "pass" and "2 spokes behind PATs at their outside addresses" in reason, reason
    # broken (derived): spoke2, public, claiming an inside address the hub does not see it at
    claims_inside = broken(cache, "198.51.100.10            198.51.100.10", "198.51.100.10            192.168.0.10 ")
    status, reason = run(check, Replay({("hub1", "nhrp_cache"): claims_inside}), tmp_path)
    assert status == "fail" and "spoke2 at NBMA 198.51.100.10 claiming 192.168.0.10, expected 198.51.100.10 " \
        "claiming 198.51.100.10" in reason, reason
    no_pat = Replay({("hub1", "nhrp_cache"): "hub1_show_ip_nhrp_cache.txt"})  # the phase 3 lab: nobody behind a PAT
    status, reason = run(check, no_pat, tmp_path)
    assert status == "fail" and "spoke1 at NBMA 198.51.100.6 claiming 198.51.100.6, expected 198.51.100.6 claiming " \
        "192.168.0.6" in reason


def test_nat_traversal_where_a_pat_is_and_only_there(tmp_path: Path):
    check = nat.udp_encapsulated(DESIGN, HUB)
    hub_sas = fixture("hub1_list_sas.txt")
    outputs = {("hub1", "ike_sas"): hub_sas, ("spoke1", "ike_sas"): fixture("spoke1_list_sas.txt"),
               ("spoke3", "ike_sas"): fixture("spoke3_list_sas.txt")}
    status, reason = run(check, Replay(outputs), tmp_path)
    assert status == "pass", reason
    plain = (FIXTURES / "edge" / "hub1_list_sas_before_renumber.txt").read_text()  # the edge lab: no PAT anywhere
    status, reason = run(check, Replay(outputs | {("hub1", "ike_sas"): "text:" + plain}), tmp_path)
    assert status == "fail" and "hub1: the SA with 198.51.100.6 does not ride UDP" in reason
    # broken (derived): hub1's SA with spoke2, public, floated to 4500 with ESP in UDP
    floated = broken(broken(hub_sas, "198.51.100.10[500]", "198.51.100.10[4500]"),
                     "INSTALLED, TRANSPORT, ", "INSTALLED, TRANSPORT-in-UDP, ")
    status, reason = run(check, Replay(outputs | {("hub1", "ike_sas"): floated}), tmp_path)
    assert status == "fail" and "the SA with 198.51.100.10 rides UDP, though no PAT is on its path" in reason
    # broken (derived): hub1's SA with spoke1 back on port 500 while its ESP stays in UDP
    torn = broken(hub_sas, "198.51.100.6[4500]", "198.51.100.6[500]")
    status, reason = run(check, Replay(outputs | {("hub1", "ike_sas"): torn}), tmp_path)
    assert status == "fail" and "has IKE on port 500 but ESP in UDP" in reason
    # broken (derived): spoke3's own end of its SA with hub1 in plain ESP on port 500
    unfloated = broken(broken(fixture("spoke3_list_sas.txt"), "198.51.100.2[4500]", "198.51.100.2[500]"),
                       "TRANSPORT-in-UDP", "TRANSPORT")
    status, reason = run(check, Replay(outputs | {("spoke3", "ike_sas"): unfloated}), tmp_path)
    assert status == "fail" and "spoke3: the SA with 198.51.100.2 does not ride UDP" in reason, reason


class BeforeAndAfter(Replay):
    """Replay answering the hub's IPsec listing with `before` to a look that follows no ping and `after` to one
    that follows pings, in each of the check's threads (it looks at the spokes in parallel, each in its thread:
    a single queue of answers would race between them)."""

    def __init__(self, outputs: dict, before: str, after: str):
        super().__init__(outputs)
        self.before, self.after, self.pinged = before, after, threading.local()

    def send(self, command: str, timeout: float | None = None) -> str:
        if command.startswith("ping"):
            self.pinged.since_look = True
        elif command.startswith("swanctl"):
            after, self.pinged.since_look = getattr(self.pinged, "since_look", False), False
            return (self.after if after else self.before).removeprefix("text:")
        return super().send(command, timeout)


def test_traffic_crosses_each_pat_both_ways_over_the_sa_in_udp(tmp_path: Path):
    # hub1's listing just before nat.through_pat's pings (spoke1's SA 58 packets in, spoke3's 17; the check's own
    # first looks found the same or 1-2 more) and after them (87 and 54): the run's real counters
    before, after = fixture("hub1_list_sas.txt"), fixture("hub1_list_sas_after_pings.txt")
    pings = {(n, "ping"): "spoke1_ping.txt" for n in ("hub1", "spoke1", "spoke3")}
    check = nat.through_pat(DESIGN, HUB)
    status, reason = run(check, BeforeAndAfter(pings, before, after), tmp_path)
    assert status == "pass" and "2 spokes behind PATs and hub1 answer each other's pings both ways" in reason, reason
    # broken (derived): the listing before the pings answered after them too, an SA that counted none of them
    status, reason = run(check, BeforeAndAfter(pings, before, before), tmp_path)
    assert status == "fail" and "counted 0 packets in for 20 answered pings" in reason
    # broken (derived): the listing after the pings with spoke3's SA in plain ESP on port 500
    plain = broken(broken(after, "198.51.100.14[4500]", "198.51.100.14[500]"),
                   "TRANSPORT-in-UDP, ESP:AES_CBC-256/HMAC_SHA2_256_128\n    installed 31s ago, rekeying in 3372s",
                   "TRANSPORT, ESP:AES_CBC-256/HMAC_SHA2_256_128\n    installed 31s ago, rekeying in 3372s")
    status, reason = run(check, BeforeAndAfter(pings, before, plain), tmp_path)
    assert status == "fail" and "hub1: the SA with 198.51.100.14 does not ride UDP" in reason, reason
    unanswered = pings | {("hub1", "ping"): "text:" + (FIXTURES / "edge" / "df_ping_vanish.txt").read_text()}
    status, reason = run(check, BeforeAndAfter(unanswered, before, after), tmp_path)
    assert status == "fail" and "hub1 -> spoke1: 0/3 answered" in reason


def test_a_shortcut_from_behind_a_pat_carries_traffic_over_an_sa_in_udp(tmp_path: Path):
    outputs = {("spoke1", "clear_shortcuts"): "text:", ("spoke1", "ping"): "spoke1_ping.txt",
               ("spoke1", "nhrp_shortcuts"): "spoke1_show_ip_nhrp_shortcut.txt",
               ("spoke1", "traceroute"): "spoke1_traceroute_direct.txt",
               ("spoke1", "ike_sas"): fixture("spoke1_list_sas.txt"),
               ("spoke2", "ike_sas"): fixture("spoke2_list_sas.txt")}
    check = nat.shortcut_from_behind(DESIGN, SPOKE1, SPOKE2)
    assert check.alone and check.id == "nat.shortcut.spoke1-spoke2"
    status, reason = run(check, Replay(outputs), tmp_path)
    assert status == "pass" and "spoke2 reaches spoke1 at 198.51.100.6" in reason, reason
    assert reason.count("has a shortcut to spoke2's LAN") == 1 and "all 10 pings answered over it" in reason, reason
    # broken (derived): spoke2's SA with spoke1 in plain ESP on port 500, as between two public spokes
    plain = broken(broken(fixture("spoke2_list_sas.txt"), "198.51.100.6[4500]", "198.51.100.6[500]"),
                   "TRANSPORT-in-UDP", "TRANSPORT")
    status, reason = run(check, Replay(outputs | {("spoke2", "ike_sas"): plain}), tmp_path)
    assert status == "fail" and "spoke2: the SA with 198.51.100.6 does not ride UDP" in reason, reason
    # broken (derived): spoke1 holding no SA with spoke2 (its IKE SA with spoke2 moved to an address nobody has)
    gone = broken(fixture("spoke1_list_sas.txt"), "198.51.100.10[4500]", "198.51.100.99[4500]")
    status, reason = run(check, Replay(outputs | {("spoke1", "ike_sas"): gone}), tmp_path)
    assert status == "fail" and "spoke1: no IKE SA with 198.51.100.10" in reason, reason


# -- what the suite leaves to the pat_to_pat case ----------------------------------------------------------------

def test_reachability_leaves_out_only_pairs_of_spokes_behind_pats_and_only_where_shortcuts_exist(write_design):
    pairs = {(a.name, b.name) for a, b in paths.lan_pairs(DESIGN)}
    assert ("spoke1", "spoke3") not in pairs and ("spoke3", "spoke1") not in pairs and len(pairs) == 10
    assert {("spoke1", "spoke2"), ("spoke2", "spoke3"), ("hub1", "spoke1")} <= pairs
    assert "spokes behind PATs each other aside" in paths.reachability(DESIGN).title
    text = (TOPOLOGIES / "nat.yml").read_text().replace("phase: 3", "phase: 1").replace("cases: [pat_to_pat]\n", "")
    assert len(paths.lan_pairs(load_design(write_design(text)))) == 12  # via the hub, every pair works
    many = load_design(TOPOLOGIES / "nat.yml", ("spokes.count=6", "nat.spokes=[spoke1, spoke2, spoke4]"))
    assert [(a.name, b.name) for a, b in paths.sample_pairs(many)] == [
        ("spoke2", "spoke3"), ("spoke3", "spoke4"), ("spoke4", "spoke5"), ("spoke5", "spoke6"), ("spoke6", "spoke1")]


def test_a_story_takes_the_first_pair_of_spokes_that_can_reach_each_other_directly():
    assert story_pair(DESIGN) == (SPOKE1, SPOKE2)
    both = load_design(TOPOLOGIES / "nat.yml", ("nat.spokes=[spoke1, spoke2]",))
    assert [s.name for s in story_pair(both)] == ["spoke1", "spoke3"]
    assert [s.name for s in story_pair(load_design(TOPOLOGIES / "phase3.yml"))] == ["spoke1", "spoke2"]


def test_the_two_pats_case_proves_the_stand_in_gap_from_the_pair_s_own_shortcuts(tmp_path: Path):
    [case] = DESIGN.cases
    [check] = CASES["pat_to_pat"](DESIGN, case)
    assert check.id == "edge.pat_to_pat.stand_in_gap" and check.alone
    assert set(check.nodes) == {"spoke1", "spoke3"}  # the design itself is the fault: only their shortcuts cleared
    assert "nhrp_shortcut_recv_resolution_rep" in case.stand_in_gap and "__nhrp_peer_check" in case.stand_in_gap
    cleared = failover.no_shortcuts(SPOKE1, SPOKE3)
    empty = "spoke3_show_ip_nhrp_shortcut_empty.txt"
    assert "spoke1 has no shortcut to 172.16.3.0/24" in cleared(looking(Replay(
        {("spoke1", "nhrp_shortcuts"): empty, ("spoke3", "nhrp_shortcuts"): empty}), tmp_path))
    listed = "text:Type     Prefix                   Via                      Identity\n" \
             "dynamic  172.16.1.0/24            10.255.0.11              \n"
    with pytest.raises(CheckFailed, match=re.escape("spoke3 still has a shortcut to 172.16.1.0/24 via 10.255.0.11")):
        cleared(looking(Replay({("spoke1", "nhrp_shortcuts"): empty, ("spoke3", "nhrp_shortcuts"): listed}), tmp_path))


def test_nothing_unsolicited_reaches_a_spoke_behind_its_pat(tmp_path: Path):
    # hub1's pings from its WAN address as the run answered them: spoke2's WAN address 3/3, each PAT's outside one 0/3
    wan = {spoke.nbma: fixture(name)[5:] for spoke, name in ((SPOKE1, "hub1_ping_spoke1_pat.txt"),
                                                               (SPOKE2, "hub1_ping_spoke2_wan.txt"),
                                                               (SPOKE3, "hub1_ping_spoke3_pat.txt"))}

    class ByTarget(Replay):
        """hub1's pings answered by their target, from `answers`."""

        def __init__(self, answers: dict[IPv4Address, str]):
            super().__init__({})
            self.answers = answers

        def send(self, command: str, timeout: float | None = None) -> str:
            return self.answers[IPv4Address(command.split()[-1])]

    check = nat.outside_closed(DESIGN, HUB)
    status, reason = run(check, ByTarget(wan), tmp_path)
    assert status == "pass" and "pings to 2 PATs' outside addresses unanswered; spoke2 at 198.51.100.10 answers" \
        in reason, reason
    # broken (derived): each PAT's outside address answering as spoke2's WAN address did (its address put in)
    opened = {spoke.nbma: broken(wan[SPOKE2.nbma], "198.51.100.10", str(spoke.nbma), count=6)
              for spoke in (SPOKE1, SPOKE3)}
    status, reason = run(check, ByTarget(wan | opened), tmp_path)
    assert status == "fail" and "answered through spoke1's PAT (198.51.100.6), spoke3's PAT (198.51.100.14)" in reason
    # broken (derived): spoke2's WAN address silent as spoke1's PAT was (its address put in): the positive control
    silent = broken(wan[SPOKE1.nbma], "198.51.100.6", "198.51.100.10", count=3)
    status, reason = run(check, ByTarget(wan | {SPOKE2.nbma: silent}), tmp_path)
    assert status == "fail" and "positive control" in reason, reason


def test_what_a_platform_does_not_show_is_skipped_and_what_a_parse_lacks_fails():
    """An ESR's NHRP and IPsec listings show no claimed NBMA and no IKE port (eltex-esr.yml `hidden`): the checks
    needing them are not applicable there. The lab's listings show both: a parse that found neither fails."""
    entries = [dataclasses.replace(e, claimed=None) for e in
               to_models("NhrpEntry", parse("frr/show_ip_nhrp_cache", fixture("hub1_nhrp_cache.txt")[5:]))]
    sa = to_models("IkeSa", parse("linux/swanctl_list_sas", fixture("hub1_list_sas.txt")[5:]))[0]
    portless = [dataclasses.replace(sa, remote_port=None)]

    class Listed:
        def __init__(self, platform: str):
            self.platform = platform

        def shown(self, node: str, what: str) -> bool:
            return Collector(None, {node: self.platform}, None).shown(node, what)

        def run(self, node: str, fact: str, evidence: list, timeout: float, waited=None, **params: object) -> list:
            return entries if fact == "nhrp_cache" else portless

    on_esr, in_lab = Context(Listed("eltex-esr")), Context(Listed("frr-lab"))
    with pytest.raises(Unsupported, match="hub1's platform does not show claimed_nbma"):
        nat.mapped_outside(DESIGN, HUB).probe(on_esr)
    with pytest.raises(CheckFailed, match="spoke1's entry shows no claimed NBMA address"):
        nat.mapped_outside(DESIGN, HUB).probe(in_lab)
    with pytest.raises(Unsupported, match="hub1's platform does not show ike_port"):
        nat.udp_encapsulated(DESIGN, HUB).probe(on_esr)
    with pytest.raises(CheckFailed, match="shows no IKE port"):
        nat.encapsulated(portless, HUB, SPOKE1.nbma)


def test_a_fact_no_platform_has_is_an_error_not_a_skip(tmp_path: Path):
    """A mistyped fact must not pass as "not applicable to this target"."""
    collector = Collector(None, {"hub1": "eltex-esr"}, Evidence(tmp_path, ()))
    with pytest.raises(LookupError, match="no platform has a `nhrp_cahce` fact"):
        collector.run("hub1", "nhrp_cahce", [])
    with pytest.raises(Unsupported, match="has no `traceroute` fact"):
        collector.run("hub1", "traceroute", [])
