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
