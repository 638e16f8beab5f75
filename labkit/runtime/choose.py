"""Picking the runtime for a lab: the one already running it, the user's choice, or the best available."""

from __future__ import annotations

import os

from labkit.errors import LabkitError
from labkit.runtime.base import Runtime, read_record
from labkit.runtime.clab import ClabRuntime, clab_available
from labkit.runtime.hostns import HostNetnsRuntime, kernel_can_run_dmvpn
from labkit.runtime.labspec import LabSpec
from labkit.runtime.microvm import MicroVMRuntime

RUNTIMES: dict[str, type[Runtime]] = {r.name: r for r in (ClabRuntime, HostNetnsRuntime, MicroVMRuntime)}
CHOICES = ("auto", *RUNTIMES)


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabkitError("labkit needs root to create network namespaces and run the lab; run it with sudo")


def best_runtime() -> str:
    """containerlab with Docker if present, else this kernel's namespaces if it has GRE+ESP, else a microVM."""
    if clab_available():
        return "clab"
    if kernel_can_run_dmvpn():
        return "netns"
    return "microvm"


def runtime_for(spec: LabSpec, requested: str = "auto") -> Runtime:
    """The runtime running this lab, else the requested (or best) one for a new `up`."""
    if requested not in CHOICES:
        raise LabkitError(f"unknown runtime {requested!r}; use one of: {', '.join(CHOICES)}")
    record = read_record(spec.name)
    if record:
        running = record["runtime"]
        if requested not in ("auto", running):
            raise LabkitError(f"lab {spec.name} runs on runtime {running}, not {requested}; `labkit down` first")
        return RUNTIMES[running](spec)
    return RUNTIMES[best_runtime() if requested == "auto" else requested](spec)


def running_runtime(spec: LabSpec) -> Runtime | None:
    record = read_record(spec.name)
    return RUNTIMES[record["runtime"]](spec) if record else None
