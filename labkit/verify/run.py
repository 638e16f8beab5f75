"""`labkit verify`: connect to every node (a lab's, or real routers from an inventory), run the
design's suite, write the report to reports/<lab>/."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import time
from pathlib import Path

from labkit.console import Console
from labkit.design.model import Design
from labkit.platforms import LAB
from labkit.render.faults import Step, fault_secrets, fault_step
from labkit.runtime.base import Runtime
from labkit.runtime.scheduler import LabLoad, Waited
from labkit.runtime.watchdog import Watchdog
from labkit.verify.collect import Collector, Evidence, Injector, platform
from labkit.verify.connect import DeviceSession, Sessions, lab_sessions
from labkit.verify.engine import Check, Result
from labkit.verify.inventory import Inventory
from labkit.verify.report import MARK, Report
from labkit.verify.schedule import run_suite
from labkit.verify.suites import considered, suite_for


def verify_lab(design: Design, runtime: Runtime, console: Console, reports_root: Path,
               timings: dict[str, float]) -> Report:
    """Run the design's suite against the running lab; print progress and the table; write the report."""
    folder = reports_root / design.lab
    shutil.rmtree(folder, ignore_errors=True)
    collector = lab_collector(design, runtime, folder / "evidence")

    def lab_down(reason: str) -> None:
        console.say(f"{reason}: failing the running checks")
        runtime.abandon(reason)  # first: requests in flight to the VM end now, and with them any lock they hold
        collector.mark_down(reason)

    try:
        with Watchdog(runtime, lab_down):
            return _run_suite(design, suite_for(design), collector, console, folder, runtime.name, timings,
                              resources=runtime.resources)
    finally:
        _keep_console(runtime, folder, console)


def lab_collector(design: Design, runtime: Runtime, evidence_folder: Path) -> Collector:
    """Facts from the lab's nodes through sessions the runtime opens, evidence (secrets redacted) in the folder,
    faults injected through the runtime, the machine shared with other labs."""
    evidence = Evidence(evidence_folder, (*design.secrets, *fault_secrets(design)))
    sessions = lab_sessions(runtime.attach_argv, platform(LAB).sessions)
    return Collector(sessions, {n: LAB for n in design.node_names}, evidence,
                     injector=fault_injector(design, runtime), load=LabLoad(design.lab))


def fault_injector(design: Design, runtime: Runtime) -> Injector:
    """Runs a fault's step in a node of the lab, rendered with that node's values."""

    def inject(node: str, fault: str, step: Step = "apply", waited: Waited | None = None, **params: object) -> str:
        return runtime.inject(fault_step(design, node, fault, step, **params), waited=waited)

    return inject


def _keep_console(runtime: Runtime, folder: Path, console: Console) -> None:
    """The VM's kernel console beside the report, so that a hang can be diagnosed from the report alone."""
    log = runtime.console_log()
    if log is not None:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, folder / "vm-console.log")
        console.say(f"the VM's console: {folder / 'vm-console.log'}")


def verify_devices(design: Design, inventory: Inventory, console: Console, reports_root: Path) -> Report:
    """Run the design's suite against real routers: the checks whose nodes are all in the inventory.
    Credentials come from the environment and appear in no report or evidence."""
    username, password = inventory.credentials()
    folder = reports_root / design.lab
    shutil.rmtree(folder, ignore_errors=True)
    evidence = Evidence(folder / "evidence", (*design.secrets, password))

    def connect(node: str, name: str) -> DeviceSession:
        host = inventory.hosts[node]
        driver = platform(host.labkit_platform).sessions[name]
        return DeviceSession(node, {"host": host.host, "port": host.port, "platform": driver,
                                    "auth_username": username, "auth_password": password,
                                    "auth_strict_key": False, "transport": "system",
                                    "timeout_socket": host.timeout, "timeout_transport": host.timeout})

    known = set(inventory.hosts)
    # routers are checked as they stand, one attempt per check: no waiting for a lab to converge
    suite = suite_for(design)
    kept = {c.id for c in suite if set(c.nodes) <= known}
    checks = [dataclasses.replace(c, deadline_s=0, needs=tuple(n for n in c.needs if n in kept))
              for c in suite if c.id in kept]
    left_out = [c.id for c in suite if not set(c.nodes) <= known]
    if left_out:
        console.say(f"{len(left_out)} checks need nodes that are not in {inventory.path} (lab-only nodes such as "
                    f"the transport router), not run: {', '.join(left_out)}")
    collector = Collector(Sessions(connect), {n: h.labkit_platform for n, h in inventory.hosts.items()}, evidence)
    return _run_suite(design, checks, collector, console, folder, f"devices ({inventory.path})", {}, block=False)


def _run_suite(design: Design, checks: list[Check], collector: Collector, console: Console, folder: Path,
               target: str, timings: dict, resources=dict, block: bool = True) -> Report:
    evidence = collector.evidence
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    started = time.monotonic()
    parts = [c.part.name for c in considered(design) if c.left_out is None]
    left_out = [{"part": c.part.name, "why": c.left_out} for c in considered(design) if c.left_out]
    console.say(f"verifying {design.lab}: {len(checks)} checks ({len(design.spokes)} spokes) on {target}; "
                f"parts: {'; '.join(parts)}; {len(left_out)} parts left out (`labkit suite {design.source}` "
                "says why)")

    def said(result: Result) -> None:
        detail = evidence.redact(result.reason.splitlines()[0] if result.reason else "")
        console.say(f"{MARK[result.status]:<5} {result.id} ({result.duration_s:.1f}s) {detail}")

    try:
        results = run_suite(checks, collector, said, block=block)
    finally:
        collector.load.release()
        collector.sessions.close()
    converged = [r.finished_at for r, c in zip(results, checks, strict=True) if c.converge and r.status == "pass"]
    timings = dict(timings) | {r.id: r.measurements for r in results if r.measurements}
    if converged and len(converged) == sum(1 for c in checks if c.converge):
        timings["converge_s"] = round(max(converged) - started, 1)
    timings["verify_s"] = round(time.monotonic() - started, 1)
    label = {"scenario": design.scenario} if design.scenario else {}
    report = Report(lab=design.lab, parts=parts, left_out=left_out, runtime=target, started_at=started_at,
                    duration_s=time.monotonic() - started, timings=timings, checks=results, resources=resources(),
                    design={"file": design.source.as_posix(), "set": list(design.overrides),
                            "hubs": len(design.hubs), "spokes": len(design.spokes), **label})
    report.write(folder, evidence.redact)
    console.show(evidence.redact(report.table()))
    console.say(f"report: {folder}/report.json, junit.xml, evidence/ ({evidence.count} command outputs)")
    return report
