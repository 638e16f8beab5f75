"""When and on what a figure was measured: every JSON of measured figures (`labkit bench`, `make test`'s table,
`labkit workshop bench`) carries it, so that docs/reference/figures.md can say so beside each number."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from labkit import settings


def machine() -> str:
    """This host in one line: name, cores, CPU model, memory, kernel, and how its microVMs run (KVM or TCG)."""
    cpu = _first_value(Path("/proc/cpuinfo"), "model name") or platform.processor() or "unknown CPU"
    memory_kib = _first_value(Path("/proc/meminfo"), "MemTotal")
    memory = f", {int(memory_kib.split()[0]) / 2**20:.1f} GiB" if memory_kib else ""
    try:
        cache = json.loads((settings.cache_dir() / "accel.json").read_text())
        accel = "/".join(sorted(set(cache.values()))).upper()
    except (OSError, ValueError, AttributeError):
        accel = ""
    return (f"{platform.node()}: {os.cpu_count()} cores ({cpu}){memory}, Linux {platform.release()}"
            + (f", microVM under {accel}" if accel else ""))


def stamp() -> dict[str, str]:
    """The fields a JSON of measured figures carries: `measured_at` (local time, ISO 8601) and `machine`."""
    return {"measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine()}


def _first_value(path: Path, key: str) -> str | None:
    """The value of the first `key: value` line of a /proc file."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    return next((line.split(":", 1)[1].strip() for line in lines if line.split(":", 1)[0].strip() == key), None)
