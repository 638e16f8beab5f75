"""What every lab test shares: prerequisites (fail, never skip, under CI), the `labkit` command as a user
runs it, with build and reports in the test's own directory, and a search for anything left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.runtime.base import RECORDS
from labkit.runtime.vm import MicroVM
from tests.conftest import ROOT, TOPOLOGIES

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


def design_copy(tmp_path: Path, scenario: str, lab: str) -> Path:
    """topologies/<scenario>.yml under another lab name, so it never collides with a lab `make` left running."""
    text = (TOPOLOGIES / f"{scenario}.yml").read_text()
    original = next(line for line in text.splitlines() if line.startswith("lab: "))
    design = tmp_path / f"{scenario}.yml"
    design.write_text(text.replace(original, f"lab: {lab}", 1))
    return design


@pytest.fixture
def labkit(tmp_path: Path):
    """`labkit ARGS` as a user runs it. A command that outlives `timeout` is sent SIGTERM (labkit then cleans
    up as on Ctrl-C), killed if it is still there a minute later, and the test fails saying so: a lab test
    never hangs."""
    env = os.environ | {"LABKIT_BUILD_DIR": str(tmp_path / "build"), "LABKIT_REPORTS_DIR": str(tmp_path / "reports")}

    def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        proc = subprocess.Popen([sys.executable, "-m", "labkit", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
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

    return run


def leftovers(lab: str) -> list[str]:
    """The lab's record, and its namespaces in the shared microVM (which stays warm after `down`)."""
    found = [str(path) for path in (RECORDS / f"{lab}.json",) if path.exists()]
    vm = MicroVM()
    if vm.alive() and vm.heartbeat() is None:
        found += [f"namespace {ns}" for ns in vm.namespaces() if ns.startswith(f"{lab}-")]
    return found
