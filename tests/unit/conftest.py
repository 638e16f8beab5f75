"""Unit tests never touch the machine's scheduler: its tickets and log go to the test's own folder."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def own_scheduler(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "scheduler"
    monkeypatch.setenv("LABKIT_SCHED_DIR", str(folder))
    return folder
