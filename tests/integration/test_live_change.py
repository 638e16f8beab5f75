"""A running lab changed live: phase 3 is brought up, its design gets a fourth spoke, and `labkit up` again
starts only that spoke and restarts only the transport router. The hub and the other spokes keep their
router processes (same pids) and their files; the new spoke registers with the hub, gets the hub's routes
and builds a shortcut to another spoke. A second `up` of an unchanged design changes nothing.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from labkit.design import load_design
from labkit.design.model import Site
from labkit.verify.collect import platform
from labkit.verify.parse import parse
from labkit.verify.state import to_models
from tests.integration.conftest import check_prerequisites, design_copy, leftovers

LAB = "itest-live"
pytestmark = pytest.mark.lab

UP_LIMIT_S = 600  # the first `up` may boot the microVM
CHANGE_LIMIT_S = 300  # one spoke started and the transport router restarted, under emulation
EXEC_LIMIT_S = 180
RETRY_S = 3
UNTOUCHED = ("hub1", "spoke1", "spoke2", "spoke3")
ROUTER_PIDS = 'for p in /run/frr/*.pid /run/charon.pid; do echo "$(basename "$p" .pid) $(cat "$p")"; done'
SUMMARY_LINE = re.compile(r"^\[ *[\d.]+s\]   (\S+) +(started|stopped|restarted|untouched)$", re.MULTILINE)


def test_a_spoke_added_to_a_running_lab_leaves_the_hub_untouched(tmp_path: Path, labkit):
    check_prerequisites()
    design_file = design_copy(tmp_path, "phase3", LAB)
    labkit("down", str(design_file))
    try:
        up = labkit("up", str(design_file), timeout=UP_LIMIT_S)
        assert up.returncode == 0, f"labkit up failed:\n{up.stderr[-3000:]}"
        same = labkit("up", str(design_file), timeout=CHANGE_LIMIT_S)
        assert same.returncode == 0 and "nothing to change" in same.stderr, same.stderr[-3000:]

        def pids(node: str) -> dict[str, str]:
            out = _exec(labkit, design_file, node, "sh", "-c", ROUTER_PIDS)
            return dict(line.split() for line in out.splitlines() if len(line.split()) == 2)

        before = {node: pids(node) for node in UNTOUCHED}
        files = {node: _node_files(tmp_path, node) for node in UNTOUCHED}
        assert {"zebra", "bgpd", "nhrpd", "charon"} <= set(before["hub1"]), before["hub1"]

        design_file.write_text(design_file.read_text().replace("count: 3\n", "count: 4\n", 1))
        change = labkit("up", str(design_file), timeout=CHANGE_LIMIT_S)
        assert change.returncode == 0, f"the live change failed:\n{change.stderr[-3000:]}"
        assert dict(SUMMARY_LINE.findall(change.stderr)) == (
            {"spoke4": "started", "inet": "restarted"} | dict.fromkeys(UNTOUCHED, "untouched")), change.stderr

        assert {node: pids(node) for node in UNTOUCHED} == before  # the same processes...
        assert {node: _node_files(tmp_path, node) for node in UNTOUCHED} == files  # ...running the same files
        status = labkit("status", str(design_file))
        assert status.returncode == 0 and status.stdout.count("zebra:up") == 5, status.stdout  # ...all still up

        design = load_design(design_file)
        hub, spoke4, spoke1 = design.site("hub1"), design.site("spoke4"), design.site("spoke1")
        _eventually(f"{spoke4.name} registered in {hub.name}'s NHRP cache", 120,
                    lambda: _registered(labkit, design_file, hub, spoke4))
        wanted = {design.routing.spoke_summary, design.hq_lan.network}
        _eventually(f"{spoke4.name} holds the hub's routes {sorted(map(str, wanted))}", 90,
                    lambda: _missing_routes(labkit, design_file, spoke4, wanted, hub.tunnel))
        _eventually(f"traffic {spoke4.name} -> {spoke1.name} gives {spoke4.name} a shortcut", 90,
                    lambda: _no_shortcut(labkit, design_file, spoke4, spoke1))
    finally:
        down = labkit("down", str(design_file))
        assert down.returncode == 0, down.stderr
    assert leftovers(LAB) == []


def _exec(labkit, design_file: Path, node: str, *argv: str) -> str:
    done = labkit("exec", str(design_file), node, "--", *argv, timeout=EXEC_LIMIT_S)
    assert done.returncode == 0, f"{node}: `{' '.join(argv)}` failed (exit {done.returncode}): {done.stderr[-2000:]}"
    return done.stdout


def _fact(labkit, design_file: Path, node: str, name: str) -> list:
    """A fact of the lab's platform (labkit/platforms/frr_strongswan/platform.yml), parsed as the suite parses it."""
    spec = platform("frr-lab").facts[name]
    argv = ("vtysh", "-c", spec.command) if spec.session == "cli" else ("sh", "-c", spec.command)
    return to_models(spec.model, parse(spec.template, _exec(labkit, design_file, node, *argv)))


def _node_files(tmp_path: Path, node: str) -> dict[str, str]:
    folder = tmp_path / "build" / LAB / "nodes" / node
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _eventually(what: str, deadline_s: float, problem: Callable[[], str | None]) -> None:
    """Poll until `problem` returns None; fail with its last answer after `deadline_s`."""
    end = time.monotonic() + deadline_s
    while (found := problem()) is not None:
        if time.monotonic() > end:
            pytest.fail(f"{what}: not within {deadline_s:.0f}s; last: {found}")
        time.sleep(RETRY_S)


def _registered(labkit, design_file: Path, hub: Site, spoke: Site) -> str | None:
    entries = [e for e in _fact(labkit, design_file, hub.name, "nhrp_cache") if e.protocol == spoke.tunnel]
    if not entries or entries[0].kind != "dynamic" or entries[0].nbma != spoke.nbma:
        return f"entries for {spoke.tunnel}: {entries} (want dynamic via {spoke.nbma})"
    return None


def _missing_routes(labkit, design_file: Path, spoke: Site, wanted: set, via) -> str | None:
    bgp = {r.prefix: r.nexthop for r in _fact(labkit, design_file, spoke.name, "routes") if r.origin == "bgp"}
    missing = sorted(str(p) for p in wanted if bgp.get(p) != via)
    return f"no BGP route via {via} to {', '.join(missing)}; BGP routes: {bgp}" if missing else None


def _no_shortcut(labkit, design_file: Path, src: Site, dst: Site) -> str | None:
    """Traffic from src's LAN to dst's; then src must route dst's LAN over an NHRP shortcut to dst."""
    labkit("exec", str(design_file), src.name, "--", "ping", "-n", "-c", "5", "-i", "0.2", "-W", "1",
           "-I", str(src.lan.ip), str(dst.lan.ip), timeout=EXEC_LIMIT_S)  # the first packets may be lost
    routes = [r for r in _fact(labkit, design_file, src.name, "routes")
              if r.prefix == dst.lan.network and r.origin == "nhrp"]
    if not routes or routes[0].nexthop != dst.tunnel:
        return f"NHRP routes to {dst.lan.network}: {routes} (want via {dst.tunnel})"
    return None
