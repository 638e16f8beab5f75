"""The deadline table: every check's deadline from the design's timers, never below what a lab needed before
the table, following each timer it is derived from; no literal deadline left in the checks."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from labkit import cli
from labkit.design import load_design
from labkit.platforms.frr_strongswan.standin import IKE_RETRANSMIT
from labkit.render.generate import node_files
from labkit.verify import deadlines
from labkit.verify.deadlines import TABLE, timers
from tests.conftest import ROOT, TOPOLOGIES

PHASE3, FAILOVER = TOPOLOGIES / "phase3.yml", TOPOLOGIES / "failover.yml"
# the literal each entry replaced (checks, suites, fault cases), known to pass in the scenario labs; the entries
# marked with a per-spoke share added it to the literal then too; rekey replaced none (no design sets a lifetime)
BEFORE = {"registration": 120, "bgp": 120, "bfd": 90, "routes": 90, "vpn": 120, "look": 40, "traffic": 60,
          "shortcut": 60, "sampled": 90, "reachability": 120, "vrf_pings": 90, "isolation": 150, "purge": 70,
          "vrrp": 60, "hub_down": 20, "hub_return": 180, "spoke_restart": 120, "sas_restart": 120, "takeover": 150,
          "settle": 10, "restore": 120, "during": 15, "kept_out": 50, "joined": 155.2, "long_outage": 0,
          "outage_return": 120, "inject": 60,
          "pmtu": 90, "blocked": 45, "rekey": 0, "renumber": 45}  # entries added after the table: their floors


def seconds(name: str, design_file: Path = PHASE3, *overrides: str) -> float:
    entry = next(d for d in TABLE if d.name == name)
    return entry(load_design(design_file, overrides))


def test_every_entry_has_what_it_replaced():
    assert [d.name for d in TABLE] == list(BEFORE)


@pytest.mark.parametrize("design_file", sorted(TOPOLOGIES.glob("*.yml")), ids=lambda p: p.stem)
def test_no_committed_design_gets_less_time_than_its_lab_needed(design_file: Path):
    """With the dead-peer timers the labs ran with then (the cluster's DPD 10 s, no timeout: 14.2 s): a design
    that detects dead peers faster since gets shorter deadlines for it."""
    design = load_design(design_file)
    if design.ipsec.dpd_timeout:
        design = dataclasses.replace(design, ipsec=dataclasses.replace(design.ipsec, dpd_interval=10, dpd_timeout=None))
    for entry in TABLE:
        assert entry(design) >= BEFORE[entry.name] + entry.per_spoke_s * len(design.spokes), entry.name


def test_the_purge_deadline_follows_the_nhrp_holdtime():
    assert seconds("purge") == 70
    assert seconds("purge", PHASE3, "overlay.holdtime=60") == 130  # twice the holdtime: 2 x 60 + 10


def test_bgp_deadlines_follow_the_bgp_timers():
    slow = ("routing.keepalive=20", "routing.holdtime=60")
    assert seconds("bgp", PHASE3, *slow) == seconds("bgp") + 60 - 9
    assert seconds("vpn", PHASE3, *slow) == 60 + 3 * 20  # past its floor


def test_a_hub_failure_window_follows_bfd_or_else_the_bgp_hold_time(write_design):
    assert seconds("hub_down", FAILOVER) == 20  # BFD detects in 0.9 s: the floor holds
    assert seconds("hub_down", FAILOVER, "routing.bfd.interval_ms=5000") == 15 + 10
    no_bfd = FAILOVER.read_text().replace("  bfd: {interval_ms: 300, multiplier: 3}", "")
    assert "bfd" not in no_bfd.split("routing:")[1].split("headquarters:")[0]
    slow = write_design(no_bfd.replace("keepalive: 3", "keepalive: 10").replace("holdtime: 9", "holdtime: 30"))
    assert seconds("hub_down", slow) == 30 + 10


def test_recovery_windows_follow_dpd_and_ikes_retransmissions():
    assert timers(load_design(PHASE3)).dead_peer_s == 10 + IKE_RETRANSMIT.give_up_s
    assert IKE_RETRANSMIT.give_up_s == 14.2  # 2 + 2.8 + 3.9 + 5.5 s
    assert timers(load_design(FAILOVER)).dead_peer_s == 5 + 5.0  # its DPD timeout scales the retransmissions
    assert seconds("sas_restart", FAILOVER) == 120  # rejoin 90 s: the floor holds
    rejoin = 60 + 5.0 + 64 + 2 + 9  # dead peer, longest retry step, BGP connect and hold
    assert seconds("sas_restart", FAILOVER, "ipsec.dpd_interval=60") == round(rejoin, 1)
    assert seconds("takeover", TOPOLOGIES / "cluster.yml", "ipsec.dpd_interval=120") > 150


def test_a_dpd_timeout_sets_when_every_node_gives_a_silent_peer_up():
    cluster = load_design(TOPOLOGIES / "cluster.yml")
    assert (cluster.ipsec.dpd_interval, cluster.ipsec.dpd_timeout) == (3, 5)
    assert timers(cluster).dead_peer_s == 3 + 5.0
    assert timers(load_design(FAILOVER, ["ipsec.dpd_timeout=8"])).ike_give_up_s == 8.0
    files = node_files(cluster)
    assert "  retransmit_timeout = 0.7\n" in files["nodes/hub2/labkit/strongswan.conf"][0]
    assert "(0.7 + 1 + 1.4 + 1.9 s)" in files["nodes/spoke1/labkit/strongswan.conf"][0]


def test_rejoining_follows_the_holdtime_once_its_refresh_outlasts_the_retries():
    """A spoke registers again every holdtime/3; below 3 x 64 s nhrpd's retries bound the wait instead."""
    assert seconds("hub_return", FAILOVER, "overlay.holdtime=120") == seconds("hub_return", FAILOVER) == 180
    long, longer = (seconds("hub_return", FAILOVER, f"overlay.holdtime={h}") for h in (600, 1200))
    assert long > 180 and longer - long == (1200 - 600) / 3


def test_work_on_every_spoke_grows_with_the_spokes():
    assert seconds("registration", PHASE3, "spokes.count=20") - seconds("registration") == 2 * 17
    assert seconds("shortcut", PHASE3, "spokes.count=20") == seconds("shortcut")


def test_the_stand_ins_run_the_retransmissions_the_table_reckons_with():
    files = node_files(load_design(PHASE3))
    conf = files["nodes/spoke1/labkit/strongswan.conf"][0]
    for line in (f"retransmit_timeout = {IKE_RETRANSMIT.timeout_s}", f"retransmit_base = {IKE_RETRANSMIT.base}",
                 f"retransmit_tries = {IKE_RETRANSMIT.tries}"):
        assert f"  {line}\n" in conf


@pytest.mark.parametrize("folder", ["checks", "suites"])
def test_no_literal_deadline_is_left_in_the_checks_or_suites(folder: str):
    """A deadline (or a fault case's window) is a table entry; deadline 0 means one look (a check tried once)."""
    for path in sorted((ROOT / "labkit" / "verify" / folder).glob("*.py")):
        literal = re.findall(r"(?:deadline_s=(?!0\b)|seconds=)\d", path.read_text())
        assert not literal, f"{path.name}: a literal deadline; add an entry to labkit/verify/deadlines.py"


def test_labkit_suite_prints_parts_checks_and_the_table(capsys):
    assert cli.main(["suite", str(PHASE3)]) == 0
    out = capsys.readouterr().out
    assert "  story        phase 3: redirect and shortcut" in out
    assert re.search(r"phase3\.shortcut_purged\.spoke1-spoke2 +70 s +designed state, paths\.full_mesh\n", out)
    assert re.search(r"routing\.spoke_routes +96 s +routing\.bgp_sessions\n", out)
    assert re.search(r"\n  purge +70\.0 s +2 x nhrp holdtime \+ 10 s\n", out)
    assert f"{deadlines.SHORTCUT.name}" in out and "the floor holds" in out


def test_labkit_suite_prints_only_the_deadlines_its_checks_use(capsys):
    assert cli.main(["suite", str(PHASE3)]) == 0
    table = capsys.readouterr().out.split("\ndeadlines")[1]
    printed = re.findall(r"^  ([a-z_]+) +[\d.]+ s ", table, re.MULTILINE)
    assert printed == ["registration", "bgp", "routes", "look", "traffic", "shortcut", "reachability", "purge"]
    assert table.startswith(f" (8 of {len(TABLE)}: the ones these checks use):")
    assert cli.main(["suite", str(FAILOVER)]) == 0
    assert {"hub_down", "bfd", "settle"} <= set(re.findall(r"^  ([a-z_]+) +[\d.]+ s ", capsys.readouterr().out,
                                                            re.MULTILINE))


def _asked_while_running(path: Path) -> list[str]:
    """`file:line NAME` of each table entry asked for inside a function nested in another (a check's probe, which
    runs only in the lab: `labkit suite` would not see it)."""
    entries = {d.name.upper() for d in TABLE}
    found = []

    def walk(node: ast.AST, depth: int) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Call) and depth >= 2:
                name = getattr(child.func, "id", None) or getattr(child.func, "attr", None)
                if name in entries:
                    found.append(f"{path.name}:{child.lineno} {name}")
            walk(child, depth + isinstance(child, ast.FunctionDef | ast.Lambda))

    walk(ast.parse(path.read_text()), 0)
    return found


def test_every_deadline_is_asked_for_as_the_suite_is_built():
    """`labkit suite` lists the entries asked for while the suite is built: a check takes its deadlines then."""
    paths = [p for folder in ("checks", "suites") for p in sorted((ROOT / "labkit" / "verify" / folder).glob("*.py"))]
    assert len(paths) > 10 and [hit for path in paths for hit in _asked_while_running(path)] == []


def test_rekeys_are_looked_at_often_enough_to_see_every_generation_and_no_more():
    """A generation of SAs lives at least 0.7 of the lifetime: a look every twelfth sees it 8 times; with no lifetime
    set (strongSwan's hours) the SAs are looked at every half second."""
    edge = load_design(TOPOLOGIES / "edge.yml")
    assert timers(edge).rekey_look_s == edge.ipsec.sa_lifetime / 12 == 5
    assert timers(load_design(PHASE3)).rekey_look_s == 0.5
    assert timers(load_design(PHASE3, ["ipsec.sa_lifetime=600"])).rekey_look_s == 50
