"""Shared test settings: repository paths and where containerlab's schema lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOPOLOGIES = ROOT / "topologies"
FIXTURES = ROOT / "tests" / "fixtures"
GOLDEN = ROOT / "tests" / "golden"
# containerlab's own topology schema; always present beside the project in CI, never copied into it
SCHEMA_DIR = Path(os.environ.get("LABKIT_SCHEMA_DIR", ROOT.parent / "shared" / "schemas"))


@pytest.fixture
def write_design(tmp_path: Path):
    """Write a design file from text and return its path."""

    def write(text: str, name: str = "design.yml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
