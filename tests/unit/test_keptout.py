"""The kept-out checks on replayed outputs: they pass on a spoke that is out and fail on one that is in (the
phase 3 lab's captures, where every spoke is in), and the other way round for the join; the suite is well
formed: the misconfigurations take turns per lane, the lanes at the same time. Outputs of a spoke that is out
were never captured: they are the captures with that spoke's rows removed, or hand-made in the captures' layout
(each says so)."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest

from labkit.design import load_design
from labkit.render.faults import fault_names, has_restore
from labkit.verify import deadlines
from labkit.verify.checks import keptout
from labkit.verify.collect import Collector, Evidence
from labkit.verify.engine import Check, run_check
from labkit.verify.schedule import validate
from labkit.verify.suites import suite_for
from tests.conftest import FIXTURES, TOPOLOGIES
from tests.unit.test_checks import Replay

LANES = load_design(TOPOLOGIES / "keptout.yml")
DESIGN = load_design(TOPOLOGIES / "keptout.yml", ["spokes.count=3"])  # as the phase 3 lab the captures are of
HUB, SPOKE1, SPOKE2, SPOKE3 = DESIGN.hubs[0], *DESIGN.spokes  # spoke1 is the rogue here: it was captured
NODES = ("hub1", "spoke1", "spoke2", "spoke3")


def text(fixture: str) -> str:
    return (FIXTURES / fixture).read_text()


def without(fixture: str, needle: str) -> str:
    """A capture of the phase 3 lab with every line naming `needle` removed: that node's state once the spoke
    that `needle` belongs to left it."""
    return "text:" + "".join(line for line in text(f"frr/{fixture}").splitlines(True) if needle not in line)


def swapped(listing: str, a: str = "198.51.100.6", b: str = "198.51.100.2") -> str:
    """An SA listing seen from the other end: the two addresses exchanged (spoke1's and the hub's by default)."""
    return listing.replace(a, "\0").replace(b, a).replace("\0", b)


NO_SAS = "text:labkit-rc=0\n"  # swanctl --list-sas with no SA: nothing but the shell's sentinel
# hand-made from the first IKE SA of frr/spoke1_swanctl_list_sas.txt: the IKE SA with the hub, no CHILD SA
IKE_ONLY = ("text:dmvpn: #5, ESTABLISHED, IKEv2, d19adca041541cd7_i* 88d13d4beae35616_r\n"
            "  local  '198.51.100.6' @ 198.51.100.6[4500]\n  remote '198.51.100.2' @ 198.51.100.2[4500]\n"
            "  AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256\n  established 3s ago, rekeying in 14090s\n"
            "labkit-rc=0\n")
# the hub's view of its SA with spoke1: spoke1's capture with the two ends' addresses swapped
HUB_SAS = "text:" + swapped(text("frr/spoke1_swanctl_list_sas.txt"))
GRE1_UP = "text:" + text("handmade/ip_link_gre1.txt")
GRE1_DOWN = GRE1_UP.replace("<NOARP,UP,LOWER_UP>", "<NOARP>")
# hand-made in the layout of frr/spoke1_ping.txt: iputils' summary when nothing answered
UNANSWERED = ("text:PING 10.0.0.1 (10.0.0.1) from 172.16.1.1 : 56(84) bytes of data.\n\n--- 10.0.0.1 ping "
              "statistics ---\n3 packets transmitted, 0 received, 100% packet loss, time 2049ms\n\nlabkit-rc=1\n")
NO_ROUTE = "text:ping: connect: Network is unreachable\nlabkit-rc=2\n"  # hand-made: iputils without a route

OUT = {  # spoke1 kept out with its IKE refused
    ("hub1", "nhrp_cache"): without("hub1_show_ip_nhrp_cache.txt", "10.255.0.11"),
    ("hub1", "bgp_peers"): without("hub1_show_bgp_summary.txt", "10.255.0.11"),
    ("hub1", "routes"): without("hub1_show_ip_route.txt", "10.255.0.11"),
    ("hub1", "ike_sas"): NO_SAS,
    ("spoke1", "nhrp_nhs"): "spoke1_show_ip_nhrp_nhs_unregistered.txt",
    ("spoke1", "ike_sas"): NO_SAS,
    ("spoke1", "link"): GRE1_UP,
    **{(s, "routes"): "spoke1_show_ip_route.txt" for s in ("spoke2", "spoke3")},
}
IN = {  # every spoke in, as captured
    ("hub1", "nhrp_cache"): "hub1_show_ip_nhrp_cache.txt",
    ("hub1", "bgp_peers"): "hub1_show_bgp_summary.txt",
    ("hub1", "routes"): "hub1_show_ip_route.txt",
    ("hub1", "ike_sas"): HUB_SAS,
    ("spoke1", "nhrp_nhs"): "spoke1_show_ip_nhrp_nhs.txt",
    ("spoke1", "ike_sas"): "spoke1_swanctl_list_sas.txt",
    ("spoke1", "link"): GRE1_UP,
    **{(s, "routes"): "spoke1_show_ip_route.txt" for s in ("spoke2", "spoke3")},
    **{(s, "ping"): "spoke1_ping.txt" for s in NODES},
}


class ByTarget(Replay):
    """Replay answering a ping by its target too, when the outputs hold (node, "ping", target); a list of
    answers is given one per ping, the last one from then on."""

    def send(self, command: str, timeout: float | None = None) -> str:
        answers = self.outputs.get((self.node, "ping", command.split()[-1])) if command.startswith("ping ") else None
        if answers is None:
            return super().send(command, timeout)
        if isinstance(answers, list):
            answers = answers.pop(0) if len(answers) > 1 else answers[0]
        answer = answers
        return answer.removeprefix("text:") if answer.startswith("text:") else text(f"frr/{answer}")


def run(check: Check, outputs: dict, tmp_path: Path) -> tuple[str, str]:
    collector = Collector(ByTarget(outputs), {n: "frr-lab" for n in NODES}, Evidence(tmp_path / "ev", ("secret",)))
    result = run_check(dataclasses.replace(check, deadline_s=0), collector)
    return result.status, result.reason


def test_kept_out_passes_on_a_spoke_that_is_out_and_fails_on_one_that_is_in(tmp_path: Path):
    check = keptout.kept_out(DESIGN, SPOKE1, "wrong_psk", "refused")
    status, reason = run(check, OUT, tmp_path)
    assert status == "pass", reason
    status, reason = run(check, IN, tmp_path)
    assert status == "fail" and reason.startswith("spoke1 NOT KEPT OUT: ")
    for held in ("hub1: NHRP dynamic entry 10.255.0.11 -> 198.51.100.6", "hub1: BGP with spoke1 Established",
                 "hub1: route to spoke1's LAN 172.16.1.0/24 (bgp via 10.255.0.11)",
                 "hub1: a CHILD SA with spoke1 is installed"):
        assert held in reason


@pytest.mark.parametrize(("left", "hub_sas", "spoke_sas", "problem"), [
    ("refused", swapped(IKE_ONLY), NO_SAS, "hub1: an IKE SA with spoke1 is established"),
    ("no-child", NO_SAS, "spoke1_swanctl_list_sas.txt", "spoke1: a CHILD SA with hub1 is installed"),
    ("up", NO_SAS, "spoke1_swanctl_list_sas.txt", "hub1: no installed CHILD SA with spoke1, yet IPsec is not at fault"),
])
def test_kept_out_holds_ipsec_to_what_the_misconfiguration_leaves(left, hub_sas, spoke_sas, problem, tmp_path):
    check = keptout.kept_out(DESIGN, SPOKE1, "some_fault", left)
    status, reason = run(check, OUT | {("hub1", "ike_sas"): hub_sas, ("spoke1", "ike_sas"): spoke_sas}, tmp_path)
    assert status == "fail" and problem in reason


@pytest.mark.parametrize(("left", "hub_sas", "spoke_sas"), [
    ("no-child", NO_SAS, IKE_ONLY),  # an ESP proposal mismatch: IKE up, no CHILD SA
    ("up", HUB_SAS, "spoke1_swanctl_list_sas.txt"),  # a GRE key mismatch: IPsec untouched
])
def test_kept_out_passes_with_the_ipsec_state_the_misconfiguration_leaves(left, hub_sas, spoke_sas, tmp_path):
    outputs = OUT | {("hub1", "ike_sas"): hub_sas, ("spoke1", "ike_sas"): spoke_sas}
    status, reason = run(keptout.kept_out(DESIGN, SPOKE1, "some_fault", left), outputs, tmp_path)
    assert status == "pass", reason


def test_kept_out_fails_on_a_registration_a_down_tunnel_or_a_route_at_another_spoke(tmp_path: Path):
    check = keptout.kept_out(DESIGN, SPOKE1, "wrong_psk", "refused")
    cases = [({("spoke1", "nhrp_nhs"): "spoke1_show_ip_nhrp_nhs.txt"}, "spoke1: registered with NHS 198.51.100.2"),
             ({("spoke1", "link"): GRE1_DOWN}, "spoke1: gre1 is not up (('NOARP',))"),
             ({("spoke2", "routes"): "hub1_show_ip_route.txt"},
              "spoke2: BGP route to spoke1's LAN via 10.255.0.11")]
    for changed, problem in cases:
        status, reason = run(check, OUT | changed, tmp_path)
        assert status == "fail" and problem in reason, reason


def _pings(rogue: str, rogue_back: str, control: str) -> dict:
    """spoke1 the rogue, spoke2 the control, hub1 HQ: each direction's answer."""
    return {("spoke1", "ping", "10.0.0.1"): rogue, ("hub1", "ping", "172.16.1.1"): rogue_back,
            ("spoke2", "ping", "10.0.0.1"): control, ("hub1", "ping", "172.16.2.1"): control}


def test_unreachable_needs_silence_from_the_rogue_and_answers_from_the_control(tmp_path: Path):
    check = keptout.unreachable(DESIGN, SPOKE1, SPOKE2, "wrong_psk")
    status, reason = run(check, _pings(NO_ROUTE, UNANSWERED, "spoke1_ping.txt"), tmp_path)
    assert status == "pass", reason
    status, reason = run(check, _pings("spoke1_ping.txt", UNANSWERED, "spoke1_ping.txt"), tmp_path)
    assert status == "fail" and "spoke1 NOT KEPT OUT, its traffic flows: spoke1 -> hub1: 10/3 answered" in reason
    status, reason = run(check, _pings(UNANSWERED, UNANSWERED, UNANSWERED), tmp_path)
    assert status == "fail" and "positive control hub1 -> spoke2: 0/3 answered" in reason


def test_a_leak_stays_a_failure_on_every_later_attempt(tmp_path: Path):
    outputs = _pings(["spoke1_ping.txt", UNANSWERED], UNANSWERED, "spoke1_ping.txt")  # silent after one leak
    collector = Collector(ByTarget(outputs), {n: "frr-lab" for n in NODES}, Evidence(tmp_path / "ev", ()))
    check = dataclasses.replace(keptout.unreachable(DESIGN, SPOKE1, SPOKE2, "wrong_psk"), deadline_s=1,
                                retry_every_s=0.4)
    result = run_check(check, collector)
    assert result.status == "fail" and result.attempts > 1 and "NOT KEPT OUT" in result.reason


def test_joined_passes_on_a_spoke_that_is_in_and_fails_on_one_that_is_out(tmp_path: Path):
    check = keptout.joined(DESIGN, SPOKE1, "wrong_psk")
    status, reason = run(check, IN, tmp_path)
    assert status == "pass", reason
    status, reason = run(check, OUT | {(s, "ping"): "spoke1_ping.txt" for s in NODES}, tmp_path)
    assert status == "fail" and "spoke1 not registered with hub1" in reason


def _hub_sas_with(*spokes) -> str:
    """The hub's SAs with these spokes: HUB_SAS's SA with spoke1 once per spoke, its remote address changed."""
    block = HUB_SAS.removeprefix("text:").split("dmvpn: #1")[1].removesuffix("labkit-rc=0")
    return "text:" + "".join(f"dmvpn: #{n}" + block.replace("198.51.100.6", str(s.nbma))
                             for n, s in enumerate(spokes, start=1)) + "labkit-rc=0\n"


def test_others_undisturbed_passes_as_captured_and_fails_when_another_spoke_is_gone(tmp_path: Path):
    outputs = IN | {("hub1", "ike_sas"): _hub_sas_with(SPOKE1, SPOKE2),  # spoke3 is the rogue here
                    ("spoke2", "ike_sas"): "spoke1_swanctl_list_sas.txt",
                    **{(s, "bgp_peers"): "spoke1_show_bgp_summary.txt" for s in ("spoke1", "spoke2")}}
    check = keptout.undisturbed(DESIGN, [SPOKE3], "wrong_psk")
    status, reason = run(check, outputs, tmp_path)
    assert status == "pass", reason
    gone = outputs | {("hub1", "nhrp_cache"): without("hub1_show_ip_nhrp_cache.txt", "10.255.0.12")}
    status, reason = run(check, gone, tmp_path)
    assert status == "fail" and "no dynamic entry for spoke2 (10.255.0.12)" in reason


def test_stays_in_passes_when_the_spoke_is_in_and_the_kept_out_checks_fail_on_it(tmp_path: Path):
    quick = dataclasses.replace(DESIGN, overlay=dataclasses.replace(DESIGN.overlay, holdtime=0))
    check = keptout.stays_in(quick, SPOKE1, SPOKE2, "nhrp_network_id_mismatch")
    status, reason = run(check, IN, tmp_path)
    assert status == "pass" and "the kept-out checks fail on it, as they must" in reason
    status, reason = run(check, OUT | {(s, "ping"): "spoke1_ping.txt" for s in NODES}, tmp_path)
    assert status == "fail" and "spoke1 not registered with hub1" in reason


def test_the_link_fact_reads_a_tunnel_bound_to_a_device():
    from labkit.verify.collect import platform
    from labkit.verify.parse import parse
    from labkit.verify.state import to_models

    spec = platform("frr-lab").facts["link"]
    (link,) = to_models(spec.model, parse(spec.template, text("handmade/ip_link_gre1.txt")))
    assert (link.name, link.flags, link.up) == ("gre1", ("NOARP", "UP", "LOWER_UP"), True)


def test_deadlines_follow_the_designs_timers():
    # the spoke's renewal 10 s on, then nhrpd's waits of 2, 4, 8 and 16 s before it drops the registration
    assert deadlines.KEPT_OUT(DESIGN) == 10 + 30 + deadlines.COMMAND_MARGIN_S
    slow = dataclasses.replace(DESIGN, overlay=dataclasses.replace(DESIGN.overlay, holdtime=90))
    assert deadlines.KEPT_OUT(slow) == 90 + deadlines.COMMAND_MARGIN_S  # the hub's cache entry
    # acquire expiry 30 + nhrpd's 32 + 64 s retries + IKE give-up 14.2 + BGP connect 2 + keepalive 3 + margin
    assert deadlines.JOINED(DESIGN) == round(30 + 96 + 14.2 + 2 + 3 + deadlines.COMMAND_MARGIN_S, 1)
    assert deadlines.timers(DESIGN).nhrp_refresh_s == 10


def _parts(checks: list[Check]) -> tuple[dict[str, Check], tuple[str, ...]]:
    validate(checks)
    by_id = {c.id: c for c in checks}
    story_end = next(c for c in checks if c.id.endswith(".applied")).needs
    story = ("phase3.shortcut_purged.spoke1-spoke2", "paths.hubs_and_sample")  # 3 spokes; 4 (sampled)
    assert len(story_end) == 1 and story_end[0] in story
    return by_id, story_end


def _case_is_well_formed(by_id: dict[str, Check], m, spoke: str) -> None:
    assert m.fault in fault_names() and has_restore(m.fault)
    apply, restore = by_id[f"keptout.{m.fault}.applied"], by_id[f"keptout.{m.fault}.restored"]
    assert apply.nodes == restore.nodes == (spoke,)
    assert restore.needs == apply.needs  # the restore runs whenever the apply could, whatever was found...
    proofs = ("stays_in",) if m.ipsec_left is None else ("out", "unreachable", "others_undisturbed")
    assert restore.follows == (apply.id, *(f"keptout.{m.fault}.{p}" for p in proofs))  # ...once the proofs ended
    assert by_id[f"keptout.{m.fault}.joined"].needs == (restore.id,)


def _each_starts_once_the_one_before_joined(by_id: dict[str, Check], turns) -> None:
    for before, later in itertools.pairwise(turns):
        assert by_id[f"keptout.{later.fault}.applied"].needs == (f"keptout.{before.fault}.joined",)


def test_with_three_spokes_the_misconfigurations_take_turns_on_the_last():
    by_id, _ = _parts(suite_for(DESIGN))
    turns = DESIGN.misconfigure
    for m in turns:
        _case_is_well_formed(by_id, m, SPOKE3.name)
    assert [by_id[f"keptout.{m.fault}.applied"].alone for m in turns] == [True] + [False] * (len(turns) - 1)
    _each_starts_once_the_one_before_joined(by_id, turns)
    assert by_id["keptout.wrong_psk.others_undisturbed"].nodes == ("hub1", "spoke1", "spoke2")


def test_with_four_spokes_two_lanes_run_at_once_and_spare_the_control_and_a_witness():
    by_id, story_end = _parts(suite_for(LANES))
    lanes = {"spoke3": LANES.misconfigure[0::2], "spoke4": LANES.misconfigure[1::2]}
    for spoke, turns in lanes.items():
        for m in turns:
            _case_is_well_formed(by_id, m, spoke)
        assert by_id[f"keptout.{turns[0].fault}.applied"].needs == story_end  # each lane from the story's end
        _each_starts_once_the_one_before_joined(by_id, turns)
    assert by_id["keptout.ike_proposal_mismatch.others_undisturbed"].nodes == ("hub1", "spoke1", "spoke2")
