"""Nothing hangs, for real: a lab whose VM freezes fails its checks with that reason within their deadlines
and still comes down cleanly; a bring-up stopped by SIGTERM leaves nothing behind, as Ctrl-C does.

The VM is frozen from outside (SIGSTOP to QEMU's process group), which from the host looks exactly like a
guest whose kernel spins: the agent stops answering, sessions stop printing. Each test has a microVM of its own
(`own_vm`), so that other labs running meanwhile in the shared one are not frozen or stopped with it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from labkit import settings
from labkit.runtime.vm import MicroVM
from labkit.runtime.watchdog import BEAT_EVERY_S, HUNG_AFTER_S
from tests.conftest import ROOT
from tests.integration.conftest import check_prerequisites, design_copy, leftovers

# each boots a microVM of its own beside the shared one: a second QEMU on this machine kind's two cores, outside the
# scheduler, and a VM frozen on purpose; they run after the lanes, alone (make test)
pytestmark = [pytest.mark.lab, pytest.mark.solo]


def two_spoke_design(tmp_path: Path, lab: str) -> Path:
    """The phase 1 design with two spokes: the smallest lab that has every kind of node."""
    design = design_copy(tmp_path, "phase1", lab)
    text = design.read_text().replace("count: 3", "count: 2").replace("[ESR-15, ESR-30, ESR-31]", "[ESR-15, ESR-30]")
    design.write_text(text)
    return design


def test_a_frozen_vm_fails_the_checks_with_that_reason_and_comes_down(tmp_path: Path, labkit, own_vm: Path):
    check_prerequisites()
    lab = "itest-frozen"
    design = two_spoke_design(tmp_path, lab)
    labkit("down", str(design))
    try:
        up = labkit("up", str(design), timeout=400)
        assert up.returncode == 0, up.stderr[-3000:]
        os.killpg(MicroVM().pid, signal.SIGSTOP)

        started = time.monotonic()
        verify = labkit("verify", str(design), timeout=400)
        took = time.monotonic() - started
        report = json.loads((tmp_path / "reports" / lab / "report.json").read_text())
        reasons = {c["id"]: c["reason"] for c in report["checks"]}
        assert verify.returncode == 1 and report["summary"]["passed"] == 0, reasons
        # each check fails with the VM's reason, or is blocked at once by one that did
        failed = {c["id"] for c in report["checks"] if c["status"] == "fail"}
        assert failed and all("the lab's VM stopped responding" in reasons[i] for i in failed), reasons
        assert all(c["status"] == "blocked" and c["reason"].startswith("not run: it needs")
                   for c in report["checks"] if c["id"] not in failed), reasons
        # detected within the watchdog's grace time (plus a few beats of 5 s), then every check fails at once
        assert took < HUNG_AFTER_S + 6 * BEAT_EVERY_S + 60, f"verify took {took:.0f}s"
        assert (tmp_path / "reports" / lab / "vm-console.log").stat().st_size > 0

        started = time.monotonic()
        status = labkit("status", str(design), timeout=60)
        assert status.returncode == 2 and "stopped responding" in status.stderr
        assert time.monotonic() - started < 20
    finally:
        down = labkit("down", str(design), timeout=120)
    assert down.returncode == 0 and "stopping it" in down.stderr, down.stderr
    assert leftovers(lab) == [] and not MicroVM().alive()  # a hung VM is never left for the next lab


def test_sigterm_while_the_vm_boots_leaves_nothing(tmp_path: Path, labkit, own_vm: Path):
    """The case seen in CI: `labkit up` stopped by SIGTERM left its VM (1.5 GiB) and run directory behind."""
    check_prerequisites()
    lab = "itest-sigterm"
    design = two_spoke_design(tmp_path, lab)
    labkit("vm", "stop", timeout=120)
    env = os.environ | labkit.env
    proc = subprocess.Popen([sys.executable, "-m", "labkit", "up", str(design)], stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)
    labkit.pids.append(proc.pid)
    seen = []
    watchdog = threading.Timer(300, proc.kill)  # the wait for a line below must not outlive a silent hang
    watchdog.start()
    try:
        for line in proc.stderr:  # wait until the VM is booting: the middle of `up`
            seen.append(line)
            if "booting the microVM" in line:
                time.sleep(5)
                break
        proc.send_signal(signal.SIGTERM)
        _, rest = proc.communicate(timeout=120)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            subprocess.run([sys.executable, "-m", "labkit", "down", str(design)], env=env, cwd=ROOT, timeout=120,
                           check=False)
    output = "".join(seen) + rest
    assert "booting the microVM" in output, output
    assert proc.returncode == 128 + signal.SIGTERM and "terminated by SIGTERM" in output, output
    assert leftovers(lab) == [] and not MicroVM().alive(), output
    assert not [p for p in (settings.run_dir() / "vm").glob("vm.json")], output
