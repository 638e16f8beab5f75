"""A lab as network namespaces inside the shared microVM (labkit.runtime.vm): `up` boots the VM only if no
warm one answers, `down` removes the lab's namespaces and leaves the VM warm for the next lab. Every
operation is the NetnsLab logic, its commands carried by the VM's agent."""

from __future__ import annotations

import time
from pathlib import Path

from labkit.errors import LabkitError
from labkit.runtime.base import Say, read_record
from labkit.runtime.labspec import LabSpec
from labkit.runtime.netns import NetnsLab, NetnsRuntime
from labkit.runtime.scheduler import SCHEDULER
from labkit.runtime.vm import MicroVM


class MicroVMRuntime(NetnsRuntime):
    name = "microvm"

    def __init__(self, spec: LabSpec):
        super().__init__(spec)
        self.vm = MicroVM()
        self.vm_pid = (read_record(spec.name) or {}).get("vm_pid")  # the VM instance the lab was started in
        self._lab: NetnsLab | None = None

    @property
    def lab(self) -> NetnsLab:
        if not self.running():
            raise LabkitError(f"lab {self.spec.name} is not running; `labkit up` starts it")
        executor = self.vm.executor()
        if self._lab is None or self._lab.executor is not executor:
            self._lab = NetnsLab(self.spec, executor)
        return self._lab

    def running(self) -> bool:
        """The lab's VM is the one that runs now (a replaced or powered-off VM took the lab with it)."""
        return self.vm_pid is not None and self.vm_pid == self.vm.pid and self.vm.alive()

    def up(self, say: Say) -> None:
        started = time.monotonic()
        self.vm.ensure(say)
        self.timings = {"vm_s": round(time.monotonic() - started, 1)}
        self.vm_pid = self.vm.pid
        self.write_record()
        self.timings |= self.lab.up(say)

    def write_record(self, extra: dict | None = None) -> None:
        super().write_record({"vm_pid": self.vm_pid} | (extra or {}))

    def down(self, say: Say) -> None:
        if self.running():
            problem = self.vm.heartbeat()
            if problem is None:
                with SCHEDULER.burst(self.spec.name, "teardown", cores=1):  # the kernel frees namespaces in one thread
                    removed = self.lab.down()
                # the last lab gone: the VM's memory back to the host. Not while others run: they would use it again,
                # and dropping the caches and compacting 4 GB under TCG cost seconds of CPU, theirs too
                if not self.vm.namespaces():
                    self.vm.give_back_memory()
                say(f"removed {len(removed)} namespaces; the microVM stays warm (`labkit vm stop` stops it)")
            else:
                say(f"the microVM stopped responding ({problem}): stopping it, with every lab in it")
                self.vm.stop(say)
        self.drop_record()

    def status(self) -> dict[str, dict[str, str]]:
        if not self.running():
            return {node.name: {} for node in self.spec.nodes}
        problem = self.vm.heartbeat()
        if problem:
            raise LabkitError(f"the lab's VM stopped responding ({problem}); its console is in {self.vm.log}; "
                              "`labkit down` removes it")
        return self.lab.status()

    def heartbeat(self) -> str | None:
        return self.vm.heartbeat() if self.running() else "the lab's microVM is gone"

    def abandon(self, reason: str) -> None:
        if self.vm.alive():
            self.vm.executor().abandon(reason)

    def console_log(self) -> Path | None:
        return self.vm.log if self.vm.log.exists() else None

    def resources(self) -> dict[str, float]:
        return self.vm.resources()
