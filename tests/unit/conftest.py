"""Unit tests never touch the machine's scheduler: its tickets and log go to the test's own folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.runtime import scheduler


@pytest.fixture(autouse=True)
def own_scheduler(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "scheduler"
    monkeypatch.setattr(scheduler.SCHEDULER, "folder", folder)
    return folder
