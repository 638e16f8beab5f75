"""What every lab test shares: prerequisites (fail, never skip, under CI), the `labkit` command as a user
runs it, with build and reports in the test's own directory, a search for anything left behind, and a record of
where each lab test's time went (its labs' waits for the machine and CPU time, from the scheduler's log)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labkit import settings
from labkit.runtime.netns import GROUPS
from labkit.runtime.scheduler import read_log
from labkit.runtime.vm import MicroVM
from tests.conftest import ROOT, TIMES, TOPOLOGIES

TERM_GRACE_S = 60  # what a SIGTERMed labkit gets to clean up before it is killed


def cannot_run(reason: str) -> None:
    """Under CI a lab that cannot come up is a failure, never a skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the lab cannot run here: {reason}")
    pytest.skip(reason)


def check_prerequisites() -> None:
    if os.geteuid() != 0:
        cannot_run("needs root (network namespaces); run `make test` as root")
    needed = {"/usr/lib/frr/zebra": "frr", "/usr/lib/ipsec/charon": "strongswan-charon",
              "/usr/sbin/swanctl": "strongswan-swanctl", "/usr/bin/qemu-system-x86_64": "qemu-system-x86"}
    missing = [pkg for path, pkg in needed.items() if not Path(path).exists()]
    if missing or not list(Path("/boot").glob("vmlinuz-*")):
        cannot_run(f"missing Debian packages {missing or ['linux-image-amd64']}; `make deps` installs them")


SHAPES = Path(__file__).parent / "shapes"  # designs of shapes no committed design has, as users write them


def design_copy(tmp_path: Path, scenario: str, lab: str) -> Path:
    """topologies/<scenario>.yml (or a shape's design, tests/integration/shapes/<scenario>.yml) under another lab
    name, so it never collides with a lab `make` left running."""
    source = TOPOLOGIES / f"{scenario}.yml"
    text = (source if source.exists() else SHAPES / f"{scenario}.yml").read_text()
    original = next(line for line in text.splitlines() if line.startswith("lab: "))
    design = tmp_path / f"{scenario}.yml"
    design.write_text(text.replace(original, f"lab: {lab}", 1))
    return design


class Labkit:
    """`labkit ARGS` as a user runs it. A command that outlives `timeout` is sent SIGTERM (labkit then cleans
    up as on Ctrl-C), killed if it is still there a minute later, and the test fails saying so: a lab test
    never hangs. `env` is what every command gets besides the usual; `pids` the processes run."""

    def __init__(self, tmp_path: Path):
        self.env = {"LABKIT_BUILD_DIR": str(tmp_path / "build"), "LABKIT_REPORTS_DIR": str(tmp_path / "reports")}
        self.pids: list[int] = []
        self.measured: dict[str, dict] = {}  # the fault cases' figures, for comparing runs alone and together

    def __call__(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        proc = subprocess.Popen([sys.executable, "-m", "labkit", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=os.environ | self.env, cwd=ROOT)
        self.pids.append(proc.pid)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
            try:
                out, err = proc.communicate(timeout=TERM_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
            print(f"$ labkit {' '.join(args)} -> still running after {timeout:.0f}s\n{out}{err}")
            pytest.fail(f"`labkit {' '.join(args)}` did not finish within {timeout:.0f}s and was stopped; "
                        f"its last output:\n{(out + err)[-3000:]}")
        done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        print(f"$ labkit {' '.join(args)} -> {done.returncode}\n{done.stdout}{done.stderr}")
        return done


@pytest.fixture
def labkit(tmp_path: Path, request: pytest.FixtureRequest):
    started = time.time()
    runner = Labkit(tmp_path)
    yield runner
    record_times(request.node.nodeid, started, runner)


def record_times(test: str, started: float, runner: Labkit) -> None:
    """Where the test's time went, from what its labkit commands wrote to the scheduler's log: its labs, the
    seconds they waited for other labs' heavy steps, held bursts and windows, and their CPU time (each lab's
    control group, read at its teardown); and its fault cases' figures. One file per test under
    reports/make-test/, read by `make test`'s table (tests/conftest.py) and `labkit bench --together`. The log
    outlives runs and process ids are reused: a line counts if one of the test's processes wrote it since it began."""
    wall_s = time.time() - started
    mine = [r for r in read_log() if r.get("pid") in set(runner.pids) and r.get("end", 0) >= started]
    held = {kind: round(sum(r.get("held_s", 0) for r in mine if r.get("kind") == kind), 1)
            for kind in ("burst", "window")}
    record = {"test": test, "labs": sorted({r["lab"] for r in mine}), "wall_s": round(wall_s, 1),
              "waited_s": round(sum(r.get("waited_s", 0) for r in mine), 1),
              "cpu_s": round(sum(r.get("cpu_s", 0) for r in mine), 1), "bursts_s": held["burst"],
              "windows_s": held["window"], "end": round(time.time(), 1), "measured": runner.measured}
    TIMES.mkdir(parents=True, exist_ok=True)
    (TIMES / (re.sub(r"[^\w.-]+", "_", test) + ".json")).write_text(json.dumps(record, indent=2) + "\n")


@pytest.fixture
def own_vm(tmp_path: Path, labkit: Labkit, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A microVM of the test's own (its own run folder), for tests that freeze or stop their VM while other labs
    run in the shared one; the test's labkit commands and this process's look at labs both use it."""
    folder = tmp_path / "run"
    labkit.env["LABKIT_RUN_DIR"] = str(folder)
    monkeypatch.setenv("LABKIT_RUN_DIR", str(folder))
    return folder


def leftovers(lab: str) -> list[str]:
    """The lab's record, and its namespaces, control group and processes in the microVM (which stays warm after
    `down`)."""
    found = [str(path) for path in (settings.run_dir() / f"{lab}.json",) if path.exists()]
    vm = MicroVM()
    if vm.alive() and vm.heartbeat() is None:
        found += [f"namespace {ns}" for ns in vm.namespaces() if ns.startswith(f"{lab}-")]
        groups = vm.executor().run(["ls", GROUPS], timeout=20).stdout.split()
        found += [f"control group {GROUPS}/{lab}" for group in groups if group == lab]
    return found
