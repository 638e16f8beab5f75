"""The phase 3 lab for real: up in the embedded runtime, every check passing, down leaving nothing.

Runs the `labkit` command as a user would. The design is topologies/phase3.yml under another lab name,
so it does not collide with a lab `make lab-phase3` left running.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, TOPOLOGIES

LAB = "itest-phase3"
pytestmark = pytest.mark.lab


def cannot_run(reason: str) -> None:
    """Under CI a lab that cannot come up is a failure, never a skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the phase 3 lab cannot run here: {reason}")
    pytest.skip(reason)


def check_prerequisites() -> None:
    if os.geteuid() != 0:
        cannot_run("needs root (network namespaces); run `make test` as root")
    needed = {"/usr/lib/frr/zebra": "frr", "/usr/lib/ipsec/charon": "strongswan-charon",
              "/usr/sbin/swanctl": "strongswan-swanctl", "/usr/bin/qemu-system-x86_64": "qemu-system-x86"}
    missing = [pkg for path, pkg in needed.items() if not Path(path).exists()]
    if missing or not list(Path("/boot").glob("vmlinuz-*")):
        cannot_run(f"missing Debian packages {missing or ['linux-image-amd64']}; `make deps` installs them")


@pytest.fixture
def labkit(tmp_path: Path):
    env = os.environ | {"LABKIT_BUILD_DIR": str(tmp_path / "build"), "LABKIT_REPORTS_DIR": str(tmp_path / "reports")}

    def run(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "labkit", *args], capture_output=True, text=True, env=env,
                              cwd=ROOT, timeout=timeout, check=False)
        print(f"$ labkit {' '.join(args)} -> {done.returncode}\n{done.stdout}{done.stderr}")
        return done

    return run


def leftovers() -> list[str]:
    found = [str(p) for p in (Path(f"/run/labkit/{LAB}.json"), Path(f"/run/labkit/vm-{LAB}")) if p.exists()]
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if f"labkit-{LAB}" in cmdline:
                found.append(f"process {proc.name}: {cmdline[:100]}")
    return found


def test_phase3_lab_end_to_end(tmp_path: Path, labkit):
    check_prerequisites()
    design = tmp_path / "phase3.yml"
    design.write_text((TOPOLOGIES / "phase3.yml").read_text().replace("lab: dmvpn-phase3", f"lab: {LAB}"))
    labkit("down", str(design))
    try:
        up = labkit("up", str(design))
        assert up.returncode == 0, f"labkit up failed:\n{up.stderr[-3000:]}"
        status = labkit("status", str(design))
        assert status.returncode == 0 and status.stdout.count("zebra:up") == 4, status.stdout
        gre = labkit("exec", str(design), "hub1", "--", "ip", "-d", "link", "show", "gre1")
        assert gre.returncode == 0 and "gre remote any" in gre.stdout and "ikey 0.0.0.42" in gre.stdout

        again = labkit("up", str(design))
        assert again.returncode == 2 and "already running" in again.stderr

        verify = labkit("verify", str(design))
        reports = tmp_path / "reports" / "phase3"
        report = json.loads((reports / "report.json").read_text())
        failed = [f"{c['id']}: {c['reason']}" for c in report["checks"] if c["status"] != "pass"]
        assert verify.returncode == 0 and not failed, "\n".join(failed)
        assert report["summary"] == {"passed": len(report["checks"]), "failed": 0, "errors": 0,
                                     "total": len(report["checks"])}
        assert len(report["checks"]) >= 14
        assert {"lab", "scenario", "runtime", "started_at", "duration_s", "timings", "checks"} <= set(report)
        assert (reports / "junit.xml").read_text().count("<testcase") == len(report["checks"])
        evidence = list((reports / "evidence").rglob("*.txt"))
        assert len(evidence) >= 20
        psk = "lab-only-dmvpn-psk-42"
        assert not [p for p in reports.rglob("*") if p.is_file() and psk in p.read_text(errors="replace")]
    finally:
        down = labkit("down", str(design))
        assert down.returncode == 0, down.stderr
    assert leftovers() == []
    again = labkit("down", str(design))
    assert again.returncode == 0 and "not running" in again.stderr
    shutil.rmtree(tmp_path / "build", ignore_errors=True)
