"""`labkit verify`: connect to every node, run the scenario's suite, write the report."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

from labkit.console import Console
from labkit.design.model import Design
from labkit.runtime.base import Runtime
from labkit.verify.collect import Collector, Evidence, platform
from labkit.verify.connect import Sessions
from labkit.verify.engine import run_check
from labkit.verify.report import Report
from labkit.verify.suites import suite_for

LAB_PLATFORM = "frr-lab"


def verify_lab(design: Design, runtime: Runtime, console: Console, reports_root: Path,
               timings: dict[str, float]) -> Report:
    """Run the design's suite against the running lab; print progress and the table; write the report."""
    checks = suite_for(design)
    folder = reports_root / design.scenario
    shutil.rmtree(folder, ignore_errors=True)
    evidence = Evidence(folder / "evidence", design.secrets)
    nodes = design.node_names
    sessions = Sessions(runtime.attach_argv, platform(LAB_PLATFORM).sessions)
    collector = Collector(sessions, {n: LAB_PLATFORM for n in nodes}, evidence, injector=runtime.inject)
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    started = time.monotonic()
    console.say(f"verifying {design.lab}: {len(checks)} checks (scenario {design.scenario})")
    results = []
    try:
        for check in checks:
            result = run_check(check, collector)
            results.append(result)
            detail = evidence.redact(result.reason.splitlines()[0] if result.reason else "")
            console.say(f"{result.status.upper():<5} {check.id} ({result.duration_s:.1f}s) {detail}")
    finally:
        sessions.close()
    converged = [r.finished_at for r, c in zip(results, checks, strict=True) if c.converge and r.status == "pass"]
    timings = dict(timings) | {r.id: r.measurements for r in results if r.measurements}
    if converged and len(converged) == sum(1 for c in checks if c.converge):
        timings["converge_s"] = round(max(converged) - started, 1)
    timings["verify_s"] = round(time.monotonic() - started, 1)
    report = Report(lab=design.lab, scenario=design.scenario, runtime=runtime.name, started_at=started_at,
                    duration_s=time.monotonic() - started, timings=timings, checks=results,
                    resources=runtime.resources())
    report.write(folder, evidence.redact)
    print(evidence.redact(report.table()))
    console.say(f"report: {folder}/report.json, junit.xml, evidence/ ({evidence.count} command outputs)")
    return report
