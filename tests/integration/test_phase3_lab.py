"""The phase 3 lab for real: up in the embedded runtime, every check passing, down leaving nothing.

Runs the `labkit` command as a user would. The design is topologies/phase3.yml under another lab name,
so it does not collide with a lab `make lab-phase3` left running.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.integration.conftest import check_prerequisites, design_copy, leftovers

LAB = "itest-phase3"
pytestmark = pytest.mark.lab


def test_phase3_lab_end_to_end(tmp_path: Path, labkit):
    check_prerequisites()
    design = design_copy(tmp_path, "phase3", LAB)
    labkit("down", str(design))
    try:
        up = labkit("up", str(design))
        assert up.returncode == 0, f"labkit up failed:\n{up.stderr[-3000:]}"
        status = labkit("status", str(design))
        assert status.returncode == 0 and status.stdout.count("zebra:up") == 4, status.stdout
        gre = labkit("exec", str(design), "hub1", "--", "ip", "-d", "link", "show", "gre1")
        assert gre.returncode == 0 and "gre remote any" in gre.stdout and "ikey 0.0.0.42" in gre.stdout

        again = labkit("up", str(design))  # a running lab that matches its design is left as it is
        assert again.returncode == 0 and "nothing to change" in again.stderr, again.stderr[-3000:]

        verify = labkit("verify", str(design))
        reports = tmp_path / "reports" / LAB  # reports/<lab>/
        report = json.loads((reports / "report.json").read_text())
        failed = [f"{c['id']}: {c['reason']}" for c in report["checks"] if c["status"] != "pass"]
        assert verify.returncode == 0 and not failed, "\n".join(failed)
        assert report["summary"] == {"passed": len(report["checks"]), "failed": 0, "errors": 0, "skipped": 0,
                                     "blocked": 0, "total": len(report["checks"])}
        assert len(report["checks"]) >= 14
        assert {"lab", "parts", "runtime", "started_at", "duration_s", "timings", "checks"} <= set(report)
        assert (reports / "junit.xml").read_text().count("<testcase") == len(report["checks"])
        evidence = list((reports / "evidence").rglob("*.txt"))
        assert len(evidence) >= 20
        psk = "lab-only-dmvpn-psk-42"
        assert not [p for p in reports.rglob("*") if p.is_file() and psk in p.read_text(errors="replace")]
    finally:
        down = labkit("down", str(design))
        assert down.returncode == 0, down.stderr
    assert leftovers(LAB) == []
    again = labkit("down", str(design))
    assert again.returncode == 0 and "not running" in again.stderr
    shutil.rmtree(tmp_path / "build", ignore_errors=True)
