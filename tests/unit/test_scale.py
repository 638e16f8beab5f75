"""Scale: the scale design at any size (`--set spokes.count=N`, `make lab-scale SPOKES=N`), and its suite whose
cost grows linearly with the spokes, proved without a lab: its checks run against a simulated converged phase 3
lab that counts the commands they send and the rows they parse; the sampled spoke pairs; the full mesh only up
to the threshold, in every suite; the benchmark's scale series."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import threading
from collections import Counter
from ipaddress import IPv4Address

import pytest

from labkit import bench, cli
from labkit.design import Design, load_design
from labkit.errors import DesignError
from labkit.verify.checks import paths
from labkit.verify.checks.paths import FULL_MESH_MAX_SPOKES, SAMPLE_PAIRS, lan_pairs, sample_pairs
from labkit.verify.engine import run_check
from labkit.verify.state import BgpPeer, ChildSa, Hop, IkeSa, NhrpEntry, NhsEntry, Packet, PingResult, Route, Shortcut
from labkit.verify.suites import suite_for
from tests.conftest import ROOT, TOPOLOGIES

SCALE = TOPOLOGIES / "scale.yml"


def scale(spokes: int) -> Design:
    return load_design(SCALE, [f"spokes.count={spokes}"])


def test_the_default_pools_serve_thousands_of_spokes_and_say_when_they_do_not():
    last = scale(4000).spokes[-1]
    assert (str(last.lan), str(last.tunnel), str(last.wan)) == ("172.31.160.1/24", "10.255.15.170", "100.64.62.130/30")
    with pytest.raises(DesignError) as info:
        scale(5000)
    assert info.value.problems == [f"{SCALE.as_posix()} (--set spokes.count=5000): spokes.count: 5000 spokes do not "
                                   "fit the default spokes.lan_pool 172.16.0.0/12 (room for 4095: spoke N gets the "
                                   "Nth /24); set spokes.lan_pool to a /11 or larger network"]


def make_dry_run(*args: str) -> str:
    """The commands `make -n ARGS` would run, continuation lines joined, spaces squeezed."""
    done = subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return re.sub(r"\s+", " ", done.stdout.replace("\\\n", " "))


@pytest.mark.parametrize(("args", "expected"), [
    (("lab-scale",), "labkit run topologies/scale.yml --runtime auto --keep "),
    (("lab-scale", "SPOKES=50", "KEEP=0"),
     "labkit run topologies/scale.yml --runtime auto --no-keep --set spokes.count=50"),
    (("bench", "SCALE=10,50,100"), "labkit bench topologies/scale.yml --scale 10,50,100"),
    (("bench",), "labkit bench topologies/phase3.yml "),
])
def test_make_passes_the_spoke_count_on(args: tuple[str, ...], expected: str):
    ran = make_dry_run(*args)
    assert expected in ran and (("--set" in ran) == any(a.startswith("SPOKES=") for a in args)), ran


# -- a converged phase 3 lab, simulated ---------------------------------------------------------------------

class ConvergedLab:
    """A Collector stand-in answering every fact as a converged phase 3 lab would: every spoke registered, with
    SAs and BGP sessions, the hub's summary; traffic between two spoke LANs installs a shortcut (a traceroute
    then takes one hop) and an SA between them. Counts the facts asked of each node."""

    down = None

    def __init__(self, design: Design):
        self.design = design
        self.hub = design.hubs[0]
        self.by_lan = {site.lan.ip: site for site in design.sites}
        self.shortcuts: dict[str, set[str]] = {s.name: set() for s in design.spokes}
        self.pinged: Counter[str] = Counter()  # echo requests each node sent: its SAs' ESP counters grow with them
        self.asked: Counter[tuple[str, str]] = Counter()
        self.rows = 0  # rows of output the checks parsed: what they cost besides the commands
        self.lock = threading.Lock()

    def run(self, node: str, fact: str, sink: list[str], timeout: float | None = None, waited=None, **params) -> list:
        answer = getattr(self, fact)(node, **params)
        with self.lock:
            self.asked[(node, fact)] += 1
            self.rows += len(answer)
        return answer

    def nhrp_cache(self, node: str) -> list:
        return [NhrpEntry("gre1", "dynamic", s.tunnel, s.nbma) for s in self.design.spokes] if node == "hub1" else []

    def nhrp_nhs(self, node: str) -> list:
        return [NhsEntry("gre1", hub.nbma, hub.tunnel) for hub in self.design.nhs]

    def ike_sas(self, node: str) -> list:
        site = self.design.site(node)
        peers = self.design.spokes if node == "hub1" else [self.hub, *map(self.design.site, self.shortcuts[node])]
        sent = 1 + self.pinged[node]
        child = ChildSa("gre", "up", "transport", sent, sent)
        return [IkeSa(p.name, "up", site.nbma, p.nbma, (child,)) for p in peers]

    def bgp_peers(self, node: str) -> list:
        return [BgpPeer(address, self.design.routing.asn, "up", 1)
                for _, address in self.design.bgp_neighbors(node)]

    def routes(self, node: str) -> list:
        if node == self.hub.name:  # every spoke's LAN via the spoke
            return [Route(s.lan.network, "bgp", True, s.tunnel, "gre1") for s in self.design.spokes]
        bgp = [Route(prefix, "bgp", True, self.hub.tunnel, "gre1")
               for prefix in (self.hub.lan.network, self.design.routing.spoke_summary)]
        nhrp = [Route(self.design.site(s).lan.network, "nhrp", True, self.design.site(s).tunnel, "gre1")
                for s in self.shortcuts[node]]
        return bgp + nhrp

    def nhrp_shortcuts(self, node: str) -> list:
        return [Shortcut(self.design.site(s).lan.network, self.design.site(s).tunnel) for s in self.shortcuts[node]]

    def clear_shortcuts(self, node: str) -> list:
        self.shortcuts[node].clear()
        return []

    def ping(self, node: str, count: int, target: IPv4Address, **_) -> list:
        other = self.by_lan[target]
        if node in self.shortcuts and other.role == "spoke":  # the hub redirects, both ends resolve
            self.shortcuts[node].add(other.name)
            self.shortcuts[other.name].add(node)
        self.pinged[node] += count
        return [PingResult(count, count)]

    def traceroute(self, node: str, target: IPv4Address, **_) -> list:
        direct = self.by_lan[target].name in self.shortcuts.get(node, ())
        return [Hop(target)] if direct else [Hop(self.hub.tunnel), Hop(target)]

    def capture(self, node: str, **_) -> list:
        return [Packet(self.design.spokes[0].nbma, self.hub.nbma, "ESP")]

    def capture_between(self, node: str, a: IPv4Address, b: IPv4Address, **_) -> list:
        return [Packet(a, b, "ESP")]


def run_suite(design: Design) -> ConvergedLab:
    """Every check of the design's suite, once each, against the simulated lab; each must pass."""
    lab = ConvergedLab(design)
    for check in suite_for(design):
        result = run_check(dataclasses.replace(check, deadline_s=0), lab)
        assert result.status == "pass", f"{check.id}: {result.reason}"
    return lab


def test_the_scale_suite_passes_on_a_converged_lab_of_100_spokes():
    lab = run_suite(scale(100))
    assert sum(1 for (_, fact) in lab.asked if fact == "nhrp_nhs") == 100  # every spoke is asked


def test_the_scale_suites_commands_grow_linearly_with_the_spokes():
    labs = {n: run_suite(scale(n)) for n in (20, 60, 100)}  # sampled pairs far enough apart to share no spoke
    asked = {n: lab.asked for n, lab in labs.items()}
    total = {n: sum(counts.values()) for n, counts in asked.items()}
    assert total[100] - total[60] == total[60] - total[20] > 0  # a * spokes + b: no square term
    rows = {n: lab.rows for n, lab in labs.items()}
    assert rows[100] - rows[60] == rows[60] - rows[20] > 0  # nor in what they parse
    hub = {n: sum(c for (node, _), c in counts.items() if node == "hub1") for n, counts in asked.items()}
    assert hub[20] == hub[100]  # the hub is asked a fixed number of times, however many spokes it lists
    pings = {n: counts_of(asked[n], "ping") for n in asked}
    assert pings[100] - pings[20] == 80  # one probe more per spoke (to the hub's LAN); the sample is bounded
    assert counts_of(asked[100], "capture_between") == counts_of(asked[20], "capture_between") == 2  # hub, first pair


def counts_of(asked: Counter, fact: str) -> int:
    return sum(count for (_, name), count in asked.items() if name == fact)


def test_deadlines_grow_with_the_spokes_where_the_work_does():
    small, large = ({c.id: c.deadline_s for c in suite_for(scale(n))} for n in (10, 100))
    for check in ("nhrp.registrations.hub1", "nhrp.nhs", "ipsec.hub_spoke_sas", "routing.bgp_sessions",
                  "routing.spoke_routes", "paths.hubs_and_sample"):
        assert large[check] > small[check], check
    assert large["phase3.sampled_shortcuts"] == small["phase3.sampled_shortcuts"]  # a bounded sample


# -- the sample and the threshold ---------------------------------------------------------------------------

def names(pairs) -> list[tuple[str, str]]:
    return [(a.name, b.name) for a, b in pairs]


@pytest.mark.parametrize("spokes", [2, 4, 8, 9, 100, 1000])
def test_sample_is_deterministic_bounded_ring_neighbours_with_distinct_sources(spokes: int):
    design = scale(spokes)
    pairs = names(sample_pairs(design))
    assert pairs == names(sample_pairs(scale(spokes)))
    assert len(pairs) == min(spokes, SAMPLE_PAIRS)
    assert len({src for src, _ in pairs}) == len(pairs)
    number = {s.name: n for n, s in enumerate(design.spokes)}
    assert all(number[dst] == (number[src] + 1) % spokes for src, dst in pairs)


def test_sample_spreads_over_the_ring():
    assert names(sample_pairs(scale(100)))[:3] == [("spoke1", "spoke2"), ("spoke13", "spoke14"),
                                                   ("spoke26", "spoke27")]
    assert sample_pairs(dataclasses.replace(scale(2), spokes=scale(2).spokes[:1])) == ()


def test_full_mesh_up_to_the_threshold_then_hubs_and_the_sample():
    at, past = scale(FULL_MESH_MAX_SPOKES), scale(FULL_MESH_MAX_SPOKES + 1)
    sites = len(at.sites)
    assert len(lan_pairs(at)) == sites * (sites - 1)
    assert paths.reachability(at).id == "paths.full_mesh"
    assert paths.reachability(past).id == "paths.hubs_and_sample"
    assert len(lan_pairs(scale(100))) == 100 + SAMPLE_PAIRS  # each spoke to the hub, and the sample


@pytest.mark.parametrize("design_file", sorted(TOPOLOGIES.glob("*.yml")), ids=lambda p: p.stem)
def test_every_suite_checks_a_full_mesh_only_in_a_small_lab(design_file):
    small = load_design(design_file)
    large = load_design(design_file, ["spokes.count=20"])
    mesh = {"paths.full_mesh"}
    assert (mesh <= {c.id for c in suite_for(small)}) == (len(small.spokes) <= FULL_MESH_MAX_SPOKES)
    ids = {c.id.removesuffix(".after_takeover") for c in suite_for(large)}
    assert "paths.full_mesh" not in ids and "paths.hubs_and_sample" in ids


# -- the benchmark's scale series, without a lab -----------------------------------------------------------

def test_bench_takes_spoke_counts_ascending_and_refuses_others():
    assert cli.spoke_counts("100,10,50,10") == [10, 50, 100]
    for wrong in ("10,x", "0,10", ""):
        with pytest.raises(Exception, match="spoke count"):
            cli.spoke_counts(wrong)


def test_bench_runs_labkit_with_the_designs_overrides(monkeypatch):
    ran = []
    monkeypatch.setattr(bench.subprocess, "run", lambda argv, **kw: ran.append(argv))
    bench._labkit(scale(50), "down", timeout=1)
    assert ran[0][-5:] == ["-q", "down", str(SCALE), "--set", "spokes.count=50"]


def test_a_runs_time_limit_grows_with_its_spokes():
    assert bench.run_limit_s(scale(100)) > bench.run_limit_s(scale(10)) > bench.up_limit_s(scale(10))


def point(spokes: int, bringup_s: float, mib: float, wall_s: float = 100) -> dict:
    return {"spokes": spokes, "nodes": spokes + 2, "wall_s": wall_s, "passed": 8, "total": 8, "bringup_s": bringup_s,
            "nodes_s": bringup_s - 1, "floor_s": 10.0, "node_start_ratio": 1.5, "converge_s": 20.0, "verify_s": 60.0,
            "bringup_s_per_spoke": bringup_s / spokes, "verify_s_per_spoke": 60.0 / spokes, "guest_mib_per_spoke": mib,
            "floor_mib_per_node": 8.0}


def test_scale_summary_holds_each_figure_against_its_target():
    flat = bench.scale_summary([point(10, 40, 20), point(100, 480, 21, wall_s=590)])
    assert flat["bringup_per_spoke_growth"] == 1.2
    assert flat["met"] == {"largest_run_s": True, "guest_mib_per_spoke": True, "bringup_per_spoke_growth": True}
    steep = bench.scale_summary([point(10, 40, 20), point(100, 600, 30, wall_s=700)])
    assert steep["met"] == {"largest_run_s": False, "guest_mib_per_spoke": False, "bringup_per_spoke_growth": False}
    table = bench.scale_table({"points": [point(10, 40, 20), point(100, 600, 30, wall_s=700)], "summary": steep})
    assert "1.5x (target: at most 1.3x): MISSED" in table and "100 spokes up and verified: 700 s" in table
