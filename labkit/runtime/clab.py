"""The lab on containerlab + Docker: `containerlab deploy`, `docker exec`, `containerlab destroy`."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from labkit.errors import LabkitError
from labkit.runtime.base import Runtime, Say
from labkit.runtime.executor import Completed, LocalExecutor
from labkit.runtime.labspec import LabSpec
from labkit.runtime.netns import STATUS_SCRIPT, start_limit_s


def clab_available() -> bool:
    """containerlab installed and a Docker engine answering."""
    if not (shutil.which("containerlab") and shutil.which("docker")):
        return False
    return LocalExecutor().run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=10).ok


def missing_modules(modules: tuple[str, ...], proc_modules: Path = Path("/proc/modules"),
                    builtin: Path | None = None) -> list[str]:
    """Modules neither loaded nor built into the running kernel."""
    try:
        loaded = {line.split()[0] for line in proc_modules.read_text().splitlines() if line.strip()}
    except OSError:
        loaded = set()
    release = Path("/proc/sys/kernel/osrelease").read_text().strip() if builtin is None else ""
    builtin_file = builtin or Path(f"/lib/modules/{release}/modules.builtin")
    try:
        built_in = {Path(line.strip()).name.removesuffix(".ko") for line in builtin_file.read_text().splitlines()}
    except OSError:
        built_in = set()
    return [m for m in modules if m not in loaded and m not in built_in]


class ClabRuntime(Runtime):
    name = "clab"

    def __init__(self, spec: LabSpec):
        super().__init__(spec)
        self.local = LocalExecutor()

    def container(self, node: str) -> str:
        self.spec.node(node)
        return f"clab-{self.spec.name}-{node}"

    def deploy_argv(self) -> list[str]:
        return ["containerlab", "deploy", "--reconfigure", "-t", str(self.spec.clab_file)]

    def destroy_argv(self) -> list[str]:
        return ["containerlab", "destroy", "--cleanup", "-t", str(self.spec.clab_file)]

    def up(self, say: Say) -> None:
        missing = missing_modules(self.spec.kernel_modules)
        if missing:
            raise LabkitError("the host kernel lacks modules the lab needs: " + ", ".join(missing)
                              + f"; load them with `sudo modprobe -a {' '.join(missing)}`")
        self.write_record()
        done = self.local.run(self.deploy_argv(), timeout=900)
        if not done.ok:
            raise LabkitError(f"containerlab deploy failed:\n{done.stderr.strip()}")
        limit = start_limit_s(len(self.spec.nodes))
        end = time.monotonic() + limit
        while time.monotonic() < end:
            states = self.status()
            if all(states[n.name] and "down" not in states[n.name].values() for n in self.spec.nodes):
                say("every node's daemons run")
                return
            time.sleep(2)
        raise LabkitError(f"nodes not ready after {limit:.0f}s: see `labkit status`")

    def down(self, say: Say) -> None:
        done = self.local.run(self.destroy_argv(), timeout=600)
        if not done.ok and "no containers found" not in done.stderr.lower():
            raise LabkitError(f"containerlab destroy failed:\n{done.stderr.strip()}")
        self.drop_record()
        say("containerlab lab destroyed")

    def status(self) -> dict[str, dict[str, str]]:
        result = {}
        for node in self.spec.nodes:
            out = self.exec(node.name, ["sh", "-c", STATUS_SCRIPT], timeout=20)
            result[node.name] = dict(line.split() for line in out.stdout.splitlines() if len(line.split()) == 2) \
                if out.ok else {}
        return result

    def exec(self, node: str, argv: list[str], timeout: float = 60) -> Completed:
        return self.local.run(["docker", "exec", self.container(node), *argv], timeout=timeout)

    def attach_argv(self, node: str, argv: list[str]) -> list[str]:
        return ["docker", "exec", "-it", self.container(node), *argv]
