"""The edge-case checks on replayed outputs: each passes on what the lab printed when the case held, and fails
when what it guards is broken (a packet over the MTU answered, an MSS not clamped, path MTU discovery silent, a
black hole that answers, rekeys that never come, a hub that still knows a moved spoke at its former address).
Outputs are the edge lab's captures (tests/fixtures/edge/README.md) or derived from them, as each says."""

from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path

import pytest

from labkit.design import load_design
from labkit.verify.checks import failover, ipsec, mtu, renumber
from labkit.verify.collect import Collector, Evidence
from labkit.verify.engine import Check, CheckFailed, Context, run_check
from tests.conftest import FIXTURES, TOPOLOGIES
from tests.unit.test_checks import Replay

DESIGN = load_design(TOPOLOGIES / "edge.yml")
NODES = ("inet", "hub1", "spoke1", "spoke2", "spoke3")


def edge(name: str) -> str:
    return (FIXTURES / "edge" / name).read_text()


class BySize(Replay):
    """Answers a DF ping by its payload size (`-s N`, as (node, "df_ping", N)); other facts as Replay does."""

    def reset(self, node: str) -> None:
        """A fault was injected into `node`: a lab's sessions to it would be reopened."""

    def send(self, command: str, timeout: float | None = None) -> str:
        size = re.search(r" -M do -s (\d+) ", command)
        if size:
            return edge(self.outputs[(self.node, "df_ping", int(size[1]))])
        return super().send(command, timeout)


def run(check: Check, outputs: dict, tmp_path: Path) -> tuple[str, str, list]:
    injected: list = []

    def injector(node: str, fault: str, step: str, waited=None, **params: object) -> str:
        injected.append((node, fault, step, params))
        return ""

    collector = Collector(BySize(outputs), {n: "frr-lab" for n in NODES}, Evidence(tmp_path / "ev", ("secret",)),
                          injector)
    result = run_check(dataclasses.replace(check, deadline_s=0), collector)
    return result.status, result.reason, injected


def looking(sessions: Replay, tmp_path: Path) -> Context:
    """A context for calling a check's parts directly, with half a minute to look."""
    return Context(Collector(sessions, {n: "frr-lab" for n in NODES}, Evidence(tmp_path / "ev", ())),
                   until=time.monotonic() + 30)


SHORTCUT = {("spoke1", "ping"): "spoke1_ping.txt", ("spoke1", "nhrp_shortcuts"): "spoke1_show_ip_nhrp_shortcut.txt",
            ("spoke1", "ike_sas"): "spoke1_swanctl_list_sas.txt", ("spoke2", "ike_sas"): "spoke2_swanctl_list_sas.txt"}
# what a failed boundary keeps as evidence from each node on the paths (raw text, not parsed)
PATH_STATE = {(node, "path_state"): f"text:{node}: eth1 mtu 1500" for node in ("spoke1", "spoke2", "hub1", "inet")}
FITS, OVER = 1400 - mtu.HEADERS, 1401 - mtu.HEADERS


def test_the_boundary_passes_at_the_tunnel_mtu_and_fails_when_one_byte_more_crosses(tmp_path: Path):
    outputs = SHORTCUT | {("spoke1", "df_ping", FITS): "df_ping_fits.txt",
                          ("spoke1", "df_ping", OVER): "df_ping_over.txt"}
    status, reason, _ = run(mtu.boundary(DESIGN), outputs, tmp_path)
    assert status == "pass", reason
    assert "1400-byte DF packets cross spoke1-hub1, spoke1-spoke2" in reason
    status, reason, _ = run(mtu.boundary(DESIGN), outputs | PATH_STATE | {("spoke1", "df_ping", OVER):
                                                                         "df_ping_fits.txt"}, tmp_path)
    assert status == "fail" and "1401-byte DF packets: 3 answered, sender told mtu None" in reason
    assert "drop counters of spoke1, spoke2, hub1, inet in the evidence" in reason


def test_the_boundary_waits_for_the_spoke_to_spoke_sa_at_both_ends_before_its_df_packets(tmp_path: Path):
    """DF packets sent while the pair's IKE still runs are dropped for want of an SA: no verdict on the MTU then."""
    outputs = SHORTCUT | PATH_STATE | {("spoke2", "ike_sas"): "spoke2_swanctl_list_sas_hub_only.txt",
                                       ("spoke1", "df_ping", FITS): "df_ping_over.txt"}
    status, reason, _ = run(mtu.boundary(DESIGN), outputs, tmp_path)
    assert status == "fail" and reason == "spoke2: no IKE SA with 198.51.100.6"


def test_the_boundary_fails_when_the_largest_packet_does_not_cross(tmp_path: Path):
    outputs = SHORTCUT | PATH_STATE | {("spoke1", "df_ping", FITS): "df_ping_over.txt"}
    status, reason, _ = run(mtu.boundary(DESIGN), outputs, tmp_path)
    assert status == "fail" and "spoke1 -> hub1: 0/3 of 1400-byte DF packets answered" in reason


def test_path_mtu_discovery_passes_when_the_sender_is_told_and_fails_when_it_is_not(tmp_path: Path):
    learned = {("hub1", "df_ping", FITS): "df_ping_told_by_path.txt", ("hub1", "df_ping", 1318 - mtu.HEADERS):
               "df_ping_fits_path.txt"}
    status, reason, injected = run(mtu.learned(DESIGN), learned, tmp_path)
    assert status == "fail" and "lab not back" in reason  # the replay keeps answering as if narrowed
    assert [(n, f, s) for n, f, s, _ in injected] == [
        ("spoke2", "wan_mtu", "apply"), ("inet", "wan_mtu", "apply"), ("spoke2", "wan_mtu", "restore"),
        ("inet", "wan_mtu", "restore"), ("hub1", "path_mtu_flushed", "apply")]
    assert injected[1][3] == {"interface": "eth3", "mtu": 1400} and injected[3][3] == {"interface": "eth3", "mtu": 1500}
    # the path's MTU learned, then full-size packets across again once restored: a pass
    answers = iter(["df_ping_told_by_path.txt", "df_ping_fits.txt"])
    outputs = learned | {("hub1", "df_ping", FITS): None}

    class Restored(BySize):
        def send(self, command: str, timeout: float | None = None) -> str:
            return edge(next(answers)) if f" -s {FITS} " in command else super().send(command, timeout)

    collector = Collector(Restored(outputs), {n: "frr-lab" for n in NODES}, Evidence(tmp_path / "ev2", ()),
                          lambda *a, **k: "")
    result = run_check(dataclasses.replace(mtu.learned(DESIGN), deadline_s=0), collector)
    assert result.status == "pass", result.reason
    assert "sender told path MTU 1318, 1318-byte DF packets cross" in result.reason
    silent = learned | {("hub1", "df_ping", FITS): "df_ping_vanish.txt"}
    status, reason, _ = run(mtu.learned(DESIGN), silent, tmp_path)
    assert status == "fail" and "sender told mtu None (expected a path MTU below 1400)" in reason


def test_the_black_hole_needs_its_positive_control_and_fails_when_the_sender_is_told(tmp_path: Path):
    small = 100 - mtu.HEADERS
    hole = {("hub1", "df_ping", small): "df_ping_small.txt", ("hub1", "df_ping", FITS): "df_ping_vanish.txt"}
    ctx = looking(BySize(hole), tmp_path)
    assert "1400-byte DF packets vanish with no error" in mtu._black_hole(ctx, DESIGN.hubs[0], DESIGN.spokes[2], 1400)
    told = hole | {("hub1", "df_ping", FITS): "df_ping_told_by_path.txt"}
    status, reason, injected = run(mtu.black_hole(DESIGN), told, tmp_path)
    assert status == "fail" and "not a black hole" in reason and "sender told mtu 1318" in reason
    assert ("inet", "frag_needed_filtered", "restore", {}) in injected  # put back whatever the check found
    status, reason, _ = run(mtu.black_hole(DESIGN), hole | {("hub1", "df_ping", small): "df_ping_vanish.txt"},
                            tmp_path)
    assert status == "fail" and "positive control" in reason


def test_rekeys_are_counted_by_generations_of_inbound_spis(tmp_path: Path):
    listing = (FIXTURES / "frr" / "spoke1_swanctl_list_sas.txt").read_text()
    spi = "c9e20c71"  # spoke1's inbound SPI of its SA with hub1 in that capture
    generations = [listing, listing, listing.replace(spi, "c0000001"), listing.replace(spi, "c0000002")]
    replay = Replay({})
    replay.send = lambda command, timeout=None: generations.pop(0) if len(generations) > 1 else generations[0]
    ctx = looking(replay, tmp_path)
    condition = ipsec.rekeyed([(DESIGN.spokes[0], DESIGN.hubs[0])])
    for seen in (0, 0, 1):
        try:
            condition(ctx)
            raise AssertionError("held too early")
        except Exception as exc:  # CheckFailed
            assert f"{seen} of 2 rekeys seen" in str(exc)
    assert f"SPIs {spi} -> c0000001 -> c0000002" in condition(ctx)


def test_the_stand_in_gap_shows_only_while_a_listed_shortcut_goes_unanswered(tmp_path: Path):
    spoke1, spoke2 = DESIGN.spokes[0], DESIGN.spokes[1]
    shortcut = {("spoke1", "nhrp_shortcuts"): "spoke1_show_ip_nhrp_shortcut.txt"}
    unanswered = Replay(shortcut | {("spoke1", "ping"): "text:" + edge("df_ping_vanish.txt")})
    gap = failover.black_holed_shortcut(spoke1, spoke2)
    assert "its pings there go unanswered" in gap(looking(unanswered, tmp_path))
    answered = Replay(shortcut | {("spoke1", "ping"): "spoke1_ping.txt"})
    with pytest.raises(CheckFailed, match="spoke1 -> spoke2: 10/10 answered"):
        gap(looking(answered, tmp_path))  # the stand-ins did what DMVPN should: the gap is gone
    flowing = failover.flowing_over_shortcut(spoke1, spoke2)
    assert "all 10 pings answered" in flowing(looking(answered, tmp_path))
    with pytest.raises(CheckFailed, match="0/3 answered over the shortcut"):
        flowing(looking(unanswered, tmp_path))


def test_the_hub_path_holds_without_a_shortcut_and_fails_with_one(tmp_path: Path):
    spoke1, spoke2 = DESIGN.spokes[0], DESIGN.spokes[1]
    traced = {("spoke1", "traceroute"): "spoke1_traceroute_via_hub.txt"}
    on_hub = failover.on_hub_path(DESIGN, spoke1, spoke2)
    none = Replay(traced | {("spoke1", "nhrp_shortcuts"): "spoke3_show_ip_nhrp_shortcut_empty.txt"})
    assert "2 overlay hops: 10.255.0.1 (hub)" in on_hub(looking(none, tmp_path))
    listed = Replay(traced | {("spoke1", "nhrp_shortcuts"): "spoke1_show_ip_nhrp_shortcut.txt"})
    with pytest.raises(CheckFailed, match=re.escape("still has a shortcut to 172.16.2.0/24")):
        on_hub(looking(listed, tmp_path))


def renumbered_hub(**replaced: str) -> Replay:
    """hub1 as the edge lab showed it right after spoke1 moved to the spare link (198.51.100.254)."""
    files = {"nhrp_cache": "hub1_nhrp_cache_renumbered.txt", "ike_sas": "hub1_list_sas_renumbered.txt",
             "bgp_peers": "hub1_bgp_summary_renumbered.txt", "routes": "hub1_routes_renumbered.txt"} | replaced
    return Replay({("hub1", fact): "text:" + edge(name) for fact, name in files.items()})


def test_a_moved_spoke_is_known_at_its_new_address_only_once_the_hub_learned_it(tmp_path: Path):
    spoke1, new = DESIGN.spokes[0], DESIGN.spare_wan_link().address.ip
    known = renumber.known_at(DESIGN, spoke1, new)
    assert "every hub maps it to 198.51.100.254, with an SA there" in known(looking(renumbered_hub(), tmp_path))
    before = renumbered_hub(nhrp_cache="hub1_nhrp_cache_before_renumber.txt")
    with pytest.raises(CheckFailed, match=re.escape("hub1: spoke1 registered at 198.51.100.6, not 198.51.100.254")):
        known(looking(before, tmp_path))
    no_sa = renumbered_hub(ike_sas="hub1_list_sas_before_renumber.txt")
    with pytest.raises(CheckFailed, match=re.escape("hub1: no IKE SA with 198.51.100.254")):
        known(looking(no_sa, tmp_path))


def test_no_sa_may_stay_with_a_moved_spokes_former_address(tmp_path: Path):
    spoke1 = DESIGN.spokes[0]
    gone = renumber.none_left_at(DESIGN, spoke1, spoke1.wan.ip)
    assert gone(looking(renumbered_hub(), tmp_path)) == "no hub keeps an SA with 198.51.100.6"
    stale = renumbered_hub(ike_sas="hub1_list_sas_before_renumber.txt")
    with pytest.raises(CheckFailed, match=r"hub1: 1 IKE SA\(s\) with spoke1's former address 198.51.100.6"):
        gone(looking(stale, tmp_path))


def test_the_mss_check_needs_the_hosts_own_mss_on_the_lan_and_the_clamped_one_at_the_hub(tmp_path: Path):
    outputs = {("spoke1", "lan_host_syn"): "text:" + edge("spoke1_lan_syn.txt"),
               ("hub1", "syn_capture"): "text:" + edge("hub1_syn_clamped.txt")}
    status, reason, injected = run(mtu.mss_clamped(DESIGN), outputs, tmp_path)
    assert status == "pass", reason
    assert "172.16.1.2's SYN offers MSS 1460 on spoke1's LAN and reaches hub1 with MSS 1360" in reason
    assert [(n, f, s) for n, f, s, _ in injected] == [("spoke1", "lan_host", "apply"),
                                                      ("spoke1", "lan_host", "restore")]
    unclamped = outputs | {("hub1", "syn_capture"): "text:" + edge("hub1_syn_unclamped.txt")}
    status, reason, _ = run(mtu.mss_clamped(DESIGN), unclamped, tmp_path)
    assert status == "fail" and "hub1 received 172.16.1.2's SYN with MSS 1460, expected 1360" in reason
    no_control = outputs | {("spoke1", "lan_host_syn"): "text:" + edge("hub1_syn_clamped.txt")}
    status, reason, _ = run(mtu.mss_clamped(DESIGN), no_control, tmp_path)
    assert status == "fail" and "positive control" in reason and "offers MSS 1360" in reason
