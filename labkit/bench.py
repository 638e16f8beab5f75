"""`labkit bench`: how fast a lab comes up and verifies, and what it costs, measured in one run on this
machine: the design cold (no microVM) and warm (the VM up), node start against the floor of starting the
same daemons bare in the same VM, memory per node, and optionally `make test`. Printed as a table and
written as JSON.

`labkit bench DESIGN --scale 10,50,100` runs the design with each spoke count in turn in the warm VM, and
gives per count the run's time, its bring-up and verification per spoke, node start against the bare-daemon
floor for the same node count, and guest memory per spoke; then how bring-up per spoke grew from the
smallest count to the largest, each figure against its target."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from labkit import settings
from labkit.console import Console
from labkit.design import load_design
from labkit.design.model import Design
from labkit.errors import LabkitError
from labkit.machine import stamp
from labkit.platforms import lab_node
from labkit.runtime.netns import start_limit_s
from labkit.runtime.vm import MicroVM
from labkit.verify.suites import suite_for

# the lab platform's daemons of a site, started bare in fresh namespaces, all nodes at once (NodeKit.bare_start)
FLOOR_START = r"""
set -u
start_node() {
  ns=labkit-floor-$1; d=/run/labkit-floor/$1
  ip netns add $ns && mkdir -p $d/run && ip netns exec $ns unshare -m sh -c "mount --bind $d/run /run && {bare}"
}
t0=$(date +%s.%N)
for i in $(seq 1 {nodes}); do start_node $i & done
wait
t1=$(date +%s.%N)
awk "BEGIN { print \"floor_s=\" ($t1 - $t0) }"
"""
FLOOR_STOP = r"""
for i in $(seq 1 {nodes}); do ip netns pids labkit-floor-$i | xargs -r kill -9; ip netns del labkit-floor-$i; done
rm -rf /run/labkit-floor
"""

MAKE_TEST_LIMIT_S = 5400  # CI's own limit: a longer run is a failure anyway
SETUP_S = 120  # generating the files, creating namespaces and links, or tearing them down
SETTLE_S = 20  # after `up`, until registrations, SAs and BGP are there
# the targets of a scale run: the largest lab up and verified within 10 minutes, at most 30 MB of guest memory
# per spoke, bring-up per spoke growing at most 1.3x from the smallest count to the largest
RUN_TARGET_S = 600
MEMORY_TARGET_MIB = 30e6 / 2**20
GROWTH_TARGET = 1.3


def _labkit(design: Design, command: str, *extra: str, timeout: float, env: dict | None = None
            ) -> subprocess.CompletedProcess:
    """`labkit -q COMMAND DESIGN` as a user runs it, with the design's `--set` options."""
    sets = [arg for given in design.overrides for arg in ("--set", given)]
    return subprocess.run([sys.executable, "-m", "labkit", "-q", command, str(design.source), *sets, *extra],
                          capture_output=True, text=True, check=False, timeout=timeout, env=_env(env or {}))


def up_limit_s(design: Design) -> float:
    """The longest `labkit up` takes by its own bounds: the VM's boot, the lab's setup, every node's start."""
    return settings.boot_timeout_s() + SETUP_S + start_limit_s(len(design.node_names))


def run_limit_s(design: Design) -> float:
    """The longest `labkit run` takes by its own bounds: `up`, every check to its end, the teardown."""
    return up_limit_s(design) + sum(check.ends_by(0) for check in suite_for(design)) + SETUP_S


def run_lab(design: Design, console: Console, reports: Path, keep: bool = False) -> dict:
    """`labkit run DESIGN` as a user runs it (the lab left up with `keep`); its wall time, checks, spokes and
    its report's timings."""
    shutil.rmtree(reports, ignore_errors=True)  # never read an earlier run's report
    started = time.monotonic()
    done = _labkit(design, "run", "--keep" if keep else "--no-keep", timeout=run_limit_s(design),
                   env={"LABKIT_REPORTS_DIR": str(reports)})
    wall = time.monotonic() - started
    reports_found = list(reports.glob("*/report.json"))
    if not reports_found:
        raise LabkitError(f"`labkit run {design.origin}` wrote no report (exit {done.returncode}):\n"
                          f"{done.stderr[-2000:]}")
    report = json.loads(reports_found[0].read_text())
    console.say(f"  {design.origin}: {wall:.1f}s, {report['summary']['passed']}/{report['summary']['total']} "
                f"checks passed")
    return {"wall_s": round(wall, 1), "passed": report["summary"]["passed"], "total": report["summary"]["total"],
            "spokes": report["design"]["spokes"], **report["timings"], **report.get("resources", {})}


def floor(vm: MicroVM, nodes: int) -> dict:
    """Seconds to start the site daemons bare on `nodes` fresh namespaces in parallel inside the VM, and the
    guest memory they then hold per node."""
    before = vm.guest_memory_mib()
    try:
        script = FLOOR_START.replace("{nodes}", str(nodes)).replace("{bare}", lab_node().bare_start)
        done = vm.executor().run(["sh", "-c", script], timeout=start_limit_s(nodes))
        during = vm.guest_memory_mib()
    finally:
        vm.executor().run(["sh", "-c", FLOOR_STOP.replace("{nodes}", str(nodes))], timeout=SETUP_S)
    line = next((x for x in done.stdout.splitlines() if x.startswith("floor_s=")), None)
    if line is None:
        raise LabkitError(f"the bare-daemon floor did not run (exit {done.rc}): {done.stderr[-1000:]}")
    grown = during["guest_used_mib"] - before["guest_used_mib"]
    return {"floor_s": round(float(line.removeprefix("floor_s=")), 1), "floor_mib_per_node": round(grown / nodes, 1)}


def _memory_now(vm: MicroVM) -> dict:
    return vm.guest_memory_mib() | vm.resources()


def memory_figures(before: dict, after: dict, nodes: int) -> dict:
    """Guest memory with the lab up minus without it, in all and per node; QEMU's resident memory both times."""
    grown = after["guest_used_mib"] - before["guest_used_mib"]
    return {"nodes": nodes, "guest_mib": round(grown, 1), "guest_mib_per_node": round(grown / nodes, 1),
            "before": before, "with_lab": after}


def memory_per_node(design: Design, vm: MicroVM, console: Console) -> dict:
    """The design's lab up (and settled) against the warm VM without it."""
    before = _memory_now(vm)
    try:
        done = _labkit(design, "up", timeout=up_limit_s(design))
        if done.returncode:
            raise LabkitError(f"`labkit up {design.origin}` failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
        time.sleep(SETTLE_S)
        after = _memory_now(vm)
    finally:
        _labkit(design, "down", timeout=SETUP_S)
    figures = memory_figures(before, after, len(design.node_names))
    console.say(f"  {figures['nodes']} nodes: {figures['guest_mib_per_node']:.1f} MiB of guest memory each; QEMU RSS "
                f"{after['vm_rss_mib']:.0f} MiB for {after['guest_used_mib'] + after['guest_cached_mib']:.0f} MiB the "
                "guest holds")
    return figures


def bench(design: Design, console: Console, out: Path, with_tests: bool) -> dict:
    results: dict = {"design": design.origin, "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    vm = MicroVM()
    console.say("cold: stopping the microVM, then a whole run")
    vm.stop(console.say)
    results["cold"] = run_lab(design, console, out / "reports-cold")
    console.say("warm: the same run again, the VM still up")
    results["warm"] = run_lab(design, console, out / "reports-warm")
    vm = MicroVM()
    count = len(design.node_names)
    console.say(f"floor: the site daemons started bare on {count} namespaces at once, in the same VM")
    results |= floor(vm, count)
    results["node_start_ratio"] = _ratio(results["warm"].get("nodes_s"), results["floor_s"])
    console.say("memory: the lab up against the warm VM without it")
    results["memory"] = memory_per_node(design, vm, console)
    if with_tests:
        console.say("make test: every scenario's lab, sharing the warm VM")
        started = time.monotonic()
        done = subprocess.run(["make", "test"], capture_output=True, text=True, check=False, env=_env({}),
                              timeout=MAKE_TEST_LIMIT_S)
        results["make_test"] = {"wall_s": round(time.monotonic() - started, 1), "exit": done.returncode,
                                "last_line": (done.stdout.strip().splitlines() or [""])[-1]}
    _write(out / "bench.json", results, console)
    console.show(table(results))
    return results


def bench_scale(design: Design, counts: list[int], console: Console, out: Path) -> dict:
    """The design with each spoke count of `counts` (ascending) in the warm VM; the figures per count and the
    summary against the targets."""
    results: dict = {"design": design.origin, "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "points": []}
    MicroVM().ensure(console.say)  # warm before the first count: no count pays for the boot
    for spokes in counts:
        results["points"].append(scale_point(design, spokes, console, out))
        _write(out / "bench-scale.json", results, console)  # kept if a larger count fails
    results["summary"] = scale_summary(results["points"])
    _write(out / "bench-scale.json", results, console)
    console.show(scale_table(results))
    return results


def scale_point(design: Design, spokes: int, console: Console, out: Path) -> dict:
    """One count: a whole run with the lab kept, the guest memory it holds once verified, then it goes down
    and the same number of nodes start bare (the floor)."""
    sized = load_design(design.source, (*design.overrides, f"spokes.count={spokes}"))
    nodes = len(sized.node_names)
    console.say(f"{spokes} spokes ({nodes} nodes): a whole run, then its memory, then the bare-daemon floor")
    vm = MicroVM()
    before = _memory_now(vm)
    try:
        run = run_lab(sized, console, out / f"reports-{spokes}-spokes", keep=True)
        after = _memory_now(vm)
    finally:
        _labkit(sized, "down", timeout=SETUP_S)
    if run["spokes"] != spokes:
        raise LabkitError(f"the run of {sized.origin} had {run['spokes']} spokes, not {spokes}")
    memory = memory_figures(before, after, nodes)
    bare = floor(vm, nodes)
    per_spoke = {"bringup_s_per_spoke": _ratio(run["bringup_s"], spokes),
                 "verify_s_per_spoke": _ratio(run.get("verify_s"), spokes),
                 "guest_mib_per_spoke": round(memory["guest_mib"] / spokes, 1)}
    return {**run, **bare, **per_spoke, "nodes": nodes, "node_start_ratio": _ratio(run.get("nodes_s"), bare["floor_s"]),
            "memory": memory}


def scale_summary(points: list[dict]) -> dict:
    """How bring-up per spoke grew from the smallest count to the largest, and each target, met or not."""
    first, last = points[0], points[-1]
    growth = _ratio(last["bringup_s_per_spoke"], first["bringup_s_per_spoke"])
    worst_memory = max(p["guest_mib_per_spoke"] for p in points)
    return {
        "bringup_per_spoke_growth": growth,
        "largest": {"spokes": last["spokes"], "wall_s": last["wall_s"], "all_passed": last["passed"] == last["total"]},
        "worst_guest_mib_per_spoke": worst_memory,
        "targets": {"largest_run_s": RUN_TARGET_S, "guest_mib_per_spoke": round(MEMORY_TARGET_MIB, 1),
                    "bringup_per_spoke_growth": GROWTH_TARGET},
        "met": {"largest_run_s": last["wall_s"] <= RUN_TARGET_S and last["passed"] == last["total"],
                "guest_mib_per_spoke": worst_memory <= MEMORY_TARGET_MIB,
                "bringup_per_spoke_growth": growth is not None and growth <= GROWTH_TARGET},
    }


def table(r: dict) -> str:
    rows = [("phase", "figure"),
            ("cold run (VM boot included)", f"{r['cold']['wall_s']} s  (VM {r['cold'].get('vm_s')} s, nodes "
                                            f"{r['cold'].get('nodes_s')} s, verify {r['cold'].get('verify_s')} s)"),
            ("warm run", f"{r['warm']['wall_s']} s  (VM {r['warm'].get('vm_s')} s, nodes {r['warm'].get('nodes_s')} s, "
                         f"converge {r['warm'].get('converge_s')} s, verify {r['warm'].get('verify_s')} s)"),
            ("node start / bare-daemon floor", f"{r['warm'].get('nodes_s')} s / {r['floor_s']} s = "
                                               f"{r['node_start_ratio']}x"),
            ("guest memory per node", f"{r['memory']['guest_mib_per_node']} MiB ({r['memory']['nodes']} nodes; bare "
                                      f"daemons {r['floor_mib_per_node']} MiB)"),
            ("QEMU RSS with the lab / guest holds", f"{r['memory']['with_lab'].get('vm_rss_mib', 0):.0f} MiB / "
             f"{r['memory']['with_lab']['guest_used_mib'] + r['memory']['with_lab']['guest_cached_mib']:.0f} MiB")]
    if "make_test" in r:
        rows.append(("make test", f"{r['make_test']['wall_s']} s (exit {r['make_test']['exit']})"))
    return _aligned(rows)


def scale_table(r: dict) -> str:
    """One row per spoke count, then each target and whether it was met."""
    rows = [("spokes", "nodes", "run s", "bring-up s", "per spoke", "nodes s / floor s", "converge s", "verify s",
             "per spoke", "checks", "MiB/spoke", "bare MiB/node")]
    rows += [(str(p["spokes"]), str(p["nodes"]), str(p["wall_s"]), str(p["bringup_s"]), str(p["bringup_s_per_spoke"]),
              f"{p.get('nodes_s')} / {p['floor_s']} = {p['node_start_ratio']}x", str(p.get("converge_s")),
              str(p.get("verify_s")), str(p["verify_s_per_spoke"]), f"{p['passed']}/{p['total']}",
              str(p["guest_mib_per_spoke"]), str(p["floor_mib_per_node"])) for p in r["points"]]
    s, first, last = r["summary"], r["points"][0], r["points"][-1]
    verdict = {True: "met", False: "MISSED"}
    targets = [
        f"{last['spokes']} spokes up and verified: {last['wall_s']} s, {last['passed']}/{last['total']} checks "
        f"(target: within {RUN_TARGET_S} s, all passed): {verdict[s['met']['largest_run_s']]}",
        f"guest memory per spoke: at most {s['worst_guest_mib_per_spoke']} MiB (target: {MEMORY_TARGET_MIB:.1f} MiB "
        f"= 30 MB): {verdict[s['met']['guest_mib_per_spoke']]}",
        f"bring-up per spoke, {last['spokes']} against {first['spokes']} spokes: {s['bringup_per_spoke_growth']}x "
        f"(target: at most {GROWTH_TARGET}x): {verdict[s['met']['bringup_per_spoke_growth']]}",
    ]
    return _aligned(rows) + "\n\n" + "\n".join(targets)


def _aligned(rows: list[tuple[str, ...]]) -> str:
    """Rows as left-aligned columns two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def _write(path: Path, results: dict, console: Console) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results | stamp(), indent=2))
    console.say(f"written: {path}")


def _env(extra: dict) -> dict:
    return os.environ | extra
