"""labkit diff: per-device statuses and diffs between two designs or two git revisions."""

from __future__ import annotations

import subprocess
from pathlib import Path

from labkit.cli import main
from labkit.diff import diff_designs, diff_revision

PHASE3 = Path(__file__).parents[2] / "topologies" / "phase3.yml"


def _with_count(tmp_path: Path, count: int, name: str = "b.yml") -> Path:
    path = tmp_path / name
    path.write_text(PHASE3.read_text().replace("count: 3", f"count: {count}"))
    return path


def _statuses(devices) -> dict[str, str]:
    return {d.name: d.status for d in devices}


def test_spoke_added(tmp_path):
    devices = diff_designs(PHASE3, _with_count(tmp_path, 4))
    assert _statuses(devices) == {"(lab)": "changed", "hub1": "unchanged", "inet": "changed", "spoke1": "unchanged",
                                  "spoke2": "unchanged", "spoke3": "unchanged", "spoke4": "added"}
    spoke4 = next(d for d in devices if d.name == "spoke4")
    assert list(spoke4.diffs) == ["esr/spoke4.cfg"] and "--- /dev/null" in spoke4.diffs["esr/spoke4.cfg"]
    assert next(d for d in devices if d.name == "inet").diffs == {}  # no ESR config; lab files on request


def test_a_cluster_s_one_configuration_is_one_device(tmp_path):
    cluster = PHASE3.parent / "cluster.yml"
    moved = tmp_path / "cluster.yml"
    moved.write_text(cluster.read_text().replace("  vrrp_id: 20\n", "  vrrp_id: 20\n  lan_vip: 10.0.0.250\n"))
    devices = diff_designs(cluster, moved)
    assert {d.name: d.status for d in devices if d.status != "unchanged"} == {"hub1+hub2": "changed"}
    assert list(next(d for d in devices if d.name == "hub1+hub2").diffs) == ["esr/hub1+hub2.cfg"]


def test_spoke_removed_with_lab_files(tmp_path):
    devices = diff_designs(PHASE3, _with_count(tmp_path, 2), lab_files=True)
    spoke3 = next(d for d in devices if d.name == "spoke3")
    assert spoke3.status == "removed" and "esr/spoke3.cfg" in spoke3.diffs
    assert any(rel.startswith("nodes/inet/") for rel in next(d for d in devices if d.name == "inet").diffs)


def test_no_change_between_copies_exits_0(tmp_path, capsys):
    copy = _with_count(tmp_path, 3)
    assert set(_statuses(diff_designs(PHASE3, copy)).values()) == {"unchanged"}
    assert main(["diff", str(PHASE3), str(copy), "--markdown"]) == 0
    assert "No device changes." in capsys.readouterr().out


def test_changes_exit_1_with_markdown(tmp_path, capsys):
    assert main(["diff", str(PHASE3), str(_with_count(tmp_path, 4)), "--markdown"]) == 1
    out = capsys.readouterr().out
    assert "| spoke4 | added |" in out and "```diff" in out


def test_invalid_design_or_arguments_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text(PHASE3.read_text().replace("phase: 3", "phase: 4"))
    assert main(["diff", str(PHASE3), str(bad)]) == 2
    assert main(["diff", str(PHASE3)]) == 2
    assert "--rev" in capsys.readouterr().err


def test_git_revision(tmp_path, capsys):
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    design = tmp_path / "topologies" / "phase3.yml"
    design.parent.mkdir()
    design.write_text(PHASE3.read_text())
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "three spokes")
    design.write_text(PHASE3.read_text().replace("count: 3", "count: 4"))
    assert _statuses(diff_revision(design, "HEAD"))["spoke4"] == "added"
    git("commit", "-qam", "four spokes")
    assert set(_statuses(diff_revision(design, "HEAD")).values()) == {"unchanged"}
    assert _statuses(diff_revision(design, "HEAD~1"))["spoke4"] == "added"
    assert main(["diff", str(design), "--rev", "no-such-rev"]) == 2
    assert "no-such-rev" in capsys.readouterr().err
    design.write_text(PHASE3.read_text().replace("phase: 3", "phase: 4"))
    git("commit", "-qam", "a wrong phase")
    design.write_text(PHASE3.read_text())
    assert main(["diff", str(design), "--rev", "HEAD"]) == 2
    assert f"error: {design}@HEAD:7: phase: unknown value 4" in capsys.readouterr().err
