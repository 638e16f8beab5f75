"""Where labkit reads and writes, and the runtime `--runtime` defaults to, as the environment says when asked: read
at each call, never at import, so that a caller (a test, the course's bench) can set them for what it runs."""

from __future__ import annotations

import os
from pathlib import Path


def _path(variable: str, default: str | Path) -> Path:
    return Path(os.environ.get(variable) or default)


def build_root() -> Path:
    """Generated labs, build/<lab>/ ($LABKIT_BUILD_DIR)."""
    return _path("LABKIT_BUILD_DIR", "build")


def reports_root() -> Path:
    """Reports, reports/<lab>/ ($LABKIT_REPORTS_DIR)."""
    return _path("LABKIT_REPORTS_DIR", "reports")


def configs_root() -> Path:
    """The reference ESR configurations, configs/<lab>/ ($LABKIT_CONFIGS_DIR)."""
    return _path("LABKIT_CONFIGS_DIR", "configs")


def topologies_root() -> Path:
    """The committed designs, topologies/ ($LABKIT_TOPOLOGIES_DIR)."""
    return _path("LABKIT_TOPOLOGIES_DIR", "topologies")


def course_dir() -> Path:
    """The workshop's exercises ($LABKIT_COURSE_DIR)."""
    return _path("LABKIT_COURSE_DIR", "workshop")


def workshop_dir() -> Path:
    """The students' progress ($LABKIT_WORKSHOP_DIR; default reports/workshop/)."""
    return _path("LABKIT_WORKSHOP_DIR", reports_root() / "workshop")


def default_runtime() -> str:
    """The runtime a lab command uses without --runtime ($LABKIT_RUNTIME; default auto)."""
    return os.environ.get("LABKIT_RUNTIME") or "auto"


def run_dir() -> Path:
    """The running labs' records and the microVM's ($LABKIT_RUN_DIR)."""
    return _path("LABKIT_RUN_DIR", "/run/labkit")


def scheduler_dir() -> Path:
    """The machine-wide scheduler's tickets and log ($LABKIT_SCHED_DIR)."""
    return _path("LABKIT_SCHED_DIR", "/run/labkit/scheduler")


def cache_dir() -> Path:
    """What outlives a boot: which accelerator works here ($LABKIT_CACHE_DIR)."""
    return _path("LABKIT_CACHE_DIR", "/var/cache/labkit")


def state_dir() -> Path:
    """What the host keeps for the microVM and the guest reads too (the agent's token) ($LABKIT_STATE_DIR); the
    guest sees the host's /var/lib, not its /run or /var/cache."""
    return _path("LABKIT_STATE_DIR", "/var/lib/labkit")


def vm_cpus() -> int:
    """The microVM's vCPUs, the cores the labs share ($LABKIT_VM_CPUS; default this machine's, up to 4)."""
    return int(os.environ.get("LABKIT_VM_CPUS") or min(os.cpu_count() or 2, 4))


def vm_memory() -> str:
    """The microVM's memory ($LABKIT_VM_MEMORY; default 4G)."""
    return os.environ.get("LABKIT_VM_MEMORY") or "4G"


def vm_idle_s() -> float:
    """The microVM powers off after this long without a lab; 0: never ($LABKIT_VM_IDLE; default 900)."""
    return float(os.environ.get("LABKIT_VM_IDLE") or 900)


def vm_tb_cache_mib() -> int:
    """TCG's translation cache in the microVM, resident once filled ($LABKIT_VM_TB_MIB; default 128)."""
    return int(os.environ.get("LABKIT_VM_TB_MIB") or 128)


def boot_timeout_s() -> float:
    """How long the microVM may take to boot ($LABKIT_BOOT_TIMEOUT; default 240)."""
    return float(os.environ.get("LABKIT_BOOT_TIMEOUT") or 240)
