"""`labkit generate` (and up, run) keeps build/<lab>/ to the design file that made it: another design file naming
the same lab is refused unless --force; the same file again, however it is named, replaces it silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.cli import main
from labkit.render.generate import MADE_FROM
from tests.conftest import TOPOLOGIES

PHASE3 = TOPOLOGIES / "phase3.yml"


@pytest.fixture
def build(tmp_path: Path, monkeypatch) -> Path:
    """build/<lab>/ of phase3's lab, written under tmp_path; the working directory is tmp_path."""
    monkeypatch.setenv("LABKIT_BUILD_DIR", str(tmp_path / "build"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "build" / "dmvpn-phase3"


def _copy(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_text(PHASE3.read_text())
    return path


def test_the_same_design_file_regenerates_silently(tmp_path, build, capsys):
    design = _copy(tmp_path, "a.yml")
    assert main(["-q", "generate", "a.yml"]) == 0
    first = {p: p.read_bytes() for p in build.rglob("*") if p.is_file()}
    assert main(["-q", "generate", "a.yml"]) == 0
    assert {p: p.read_bytes() for p in build.rglob("*") if p.is_file()} == first
    assert main(["-q", "generate", str(design), "--set", "spokes.count=4"]) == 0  # another spelling, same file
    assert capsys.readouterr().err == "" and (build / "esr" / "spoke4.cfg").exists()
    assert (build / MADE_FROM).read_text() == f"{design.resolve()}\n"


def test_another_design_file_of_the_same_lab_is_refused_unless_forced(tmp_path, build, capsys):
    first, second = _copy(tmp_path, "a.yml"), _copy(tmp_path, "b.yml")
    assert main(["-q", "generate", str(first)]) == 0
    assert main(["-q", "generate", str(second)]) == 2
    err = capsys.readouterr().err
    assert f"was generated from {first.resolve()}, not {second}: both name their lab 'dmvpn-phase3'" in err
    assert "give" in err and "its own `lab:` name, or pass --force" in err
    assert (build / MADE_FROM).read_text() == f"{first.resolve()}\n"  # untouched
    assert main(["-q", "generate", str(second), "--force"]) == 0
    assert (build / MADE_FROM).read_text() == f"{second.resolve()}\n"
