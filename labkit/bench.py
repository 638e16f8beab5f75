"""`labkit bench`: how fast a lab comes up and verifies, and what it costs, measured in one run on this
machine: the design cold (no microVM) and warm (the VM up), node start against the floor of starting the
same daemons bare in the same VM, memory per node, and optionally `make test`. Printed as a table and
written as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from labkit.console import Console
from labkit.design.model import Design
from labkit.errors import LabkitError
from labkit.runtime.vm import MicroVM

# the daemons a site runs, started bare (empty configurations) in fresh namespaces, all nodes at once, the
# way a start script starts them: zebra, then bgpd and nhrpd once zebra's socket is there, and charon with
# a private /run; done when every node's zebra socket and charon vici socket exist
FLOOR_SCRIPT = r"""
set -u
start_node() {
  ns=labkit-floor-$1; d=/run/labkit-floor/$1
  ip netns add $ns && mkdir -p $d/run && ip netns exec $ns unshare -m sh -c "
    mount --bind $d/run /run && install -d -o frr -g frr /run/frr &&
    /usr/lib/frr/zebra -d -f /dev/null -i /run/frr/zebra.pid &&
    until [ -S /run/frr/zserv.api ]; do sleep 0.05; done &&
    /usr/lib/frr/bgpd -d -f /dev/null -i /run/frr/bgpd.pid &&
    /usr/lib/frr/nhrpd -d -f /dev/null -i /run/frr/nhrpd.pid &&
    (nohup /usr/lib/ipsec/charon >/run/charon.out 2>&1 &) &&
    until [ -S /run/charon.vici ]; do sleep 0.05; done"
}
t0=$(date +%s.%N)
for i in $(seq 1 {nodes}); do start_node $i & done
wait
t1=$(date +%s.%N)
for i in $(seq 1 {nodes}); do ip netns pids labkit-floor-$i | xargs -r kill -9; ip netns del labkit-floor-$i; done
rm -rf /run/labkit-floor
awk "BEGIN { print \"floor_s=\" ($t1 - $t0) }"
"""


MAKE_TEST_LIMIT_S = 5400  # CI's own limit: a longer run is a failure anyway


def run_lab(design_file: Path, console: Console, reports: Path) -> dict:
    """`labkit run DESIGN --no-keep` as a user runs it; its wall time and its report's timings."""
    started = time.monotonic()
    env = {"LABKIT_REPORTS_DIR": str(reports)}
    done = subprocess.run([sys.executable, "-m", "labkit", "-q", "run", str(design_file), "--no-keep"],
                          capture_output=True, text=True, check=False, timeout=1800, env=_env(env))
    wall = time.monotonic() - started
    reports_found = list(reports.glob("*/report.json"))
    if not reports_found:
        raise LabkitError(f"`labkit run {design_file}` wrote no report (exit {done.returncode}):\n"
                          f"{done.stderr[-2000:]}")
    report = json.loads(reports_found[0].read_text())
    console.say(f"  {design_file.name}: {wall:.1f}s, {report['summary']['passed']}/{report['summary']['total']} "
                f"checks passed")
    return {"wall_s": round(wall, 1), "passed": report["summary"]["passed"], "total": report["summary"]["total"],
            **report["timings"], **report.get("resources", {})}


def floor(vm: MicroVM, nodes: int) -> float:
    """Seconds to start the site daemons bare on `nodes` fresh namespaces in parallel, inside the VM."""
    done = vm.executor().run(["sh", "-c", FLOOR_SCRIPT.replace("{nodes}", str(nodes))], timeout=600)
    line = next((x for x in done.stdout.splitlines() if x.startswith("floor_s=")), None)
    if line is None:
        raise LabkitError(f"the bare-daemon floor did not run (exit {done.rc}): {done.stderr[-1000:]}")
    return float(line.removeprefix("floor_s="))


def memory_per_node(design_file: Path, design: Design, vm: MicroVM, console: Console) -> dict:
    """Guest memory with the lab up minus without it, per node; and QEMU's resident memory both times."""
    before = vm.guest_memory_mib() | vm.resources()
    subprocess.run([sys.executable, "-m", "labkit", "-q", "up", str(design_file)], check=True, timeout=900,
                   capture_output=True, env=_env({}))
    try:
        time.sleep(20)  # daemons settled: registrations, SAs, BGP
        after = vm.guest_memory_mib() | vm.resources()
    finally:
        subprocess.run([sys.executable, "-m", "labkit", "-q", "down", str(design_file)], check=False, timeout=300,
                       capture_output=True, env=_env({}))
    nodes = len(design.sites) + 1 + (1 if design.headquarters else 0)
    per_node = (after["guest_used_mib"] - before["guest_used_mib"]) / nodes
    console.say(f"  {nodes} nodes: {per_node:.1f} MiB of guest memory each; QEMU RSS {after['vm_rss_mib']:.0f} MiB "
                f"for {after['guest_used_mib'] + after['guest_cached_mib']:.0f} MiB the guest holds")
    return {"nodes": nodes, "guest_mib_per_node": round(per_node, 1), "before": before, "with_lab": after}


def bench(design_file: Path, design: Design, console: Console, out: Path, with_tests: bool) -> dict:
    results: dict = {"design": str(design_file), "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    vm = MicroVM()
    console.say("cold: stopping the microVM, then a whole run")
    vm.stop(console.say)
    results["cold"] = run_lab(design_file, console, out / "reports-cold")
    console.say("warm: the same run again, the VM still up")
    results["warm"] = run_lab(design_file, console, out / "reports-warm")
    vm = MicroVM()
    nodes = results["warm"].get("nodes_s")
    count = len(design.sites) + 1 + (1 if design.headquarters else 0)
    console.say(f"floor: the site daemons started bare on {count} namespaces at once, in the same VM")
    results["floor_s"] = round(floor(vm, count), 1)
    results["node_start_ratio"] = round(nodes / results["floor_s"], 2) if nodes else None
    console.say("memory: the lab up against the warm VM without it")
    results["memory"] = memory_per_node(design_file, design, vm, console)
    if with_tests:
        console.say("make test: every scenario's lab, sharing the warm VM")
        started = time.monotonic()
        done = subprocess.run(["make", "test"], capture_output=True, text=True, check=False, env=_env({}),
                              timeout=MAKE_TEST_LIMIT_S)
        results["make_test"] = {"wall_s": round(time.monotonic() - started, 1), "exit": done.returncode,
                                "last_line": (done.stdout.strip().splitlines() or [""])[-1]}
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2))
    print(table(results))
    console.say(f"written: {out / 'bench.json'}")
    return results


def table(r: dict) -> str:
    rows = [("phase", "figure"),
            ("cold run (VM boot included)", f"{r['cold']['wall_s']} s  (VM {r['cold'].get('vm_s')} s, nodes "
                                            f"{r['cold'].get('nodes_s')} s, verify {r['cold'].get('verify_s')} s)"),
            ("warm run", f"{r['warm']['wall_s']} s  (VM {r['warm'].get('vm_s')} s, nodes {r['warm'].get('nodes_s')} s, "
                         f"converge {r['warm'].get('converge_s')} s, verify {r['warm'].get('verify_s')} s)"),
            ("node start / bare-daemon floor", f"{r['warm'].get('nodes_s')} s / {r['floor_s']} s = "
                                               f"{r['node_start_ratio']}x"),
            ("guest memory per node", f"{r['memory']['guest_mib_per_node']} MiB ({r['memory']['nodes']} nodes)"),
            ("QEMU RSS with the lab / guest holds", f"{r['memory']['with_lab'].get('vm_rss_mib', 0):.0f} MiB / "
             f"{r['memory']['with_lab']['guest_used_mib'] + r['memory']['with_lab']['guest_cached_mib']:.0f} MiB")]
    if "make_test" in r:
        rows.append(("make test", f"{r['make_test']['wall_s']} s (exit {r['make_test']['exit']})"))
    width = max(len(a) for a, _ in rows)
    return "\n".join(f"{a:<{width}}  {b}" for a, b in rows)


def _env(extra: dict) -> dict:
    return os.environ | extra
