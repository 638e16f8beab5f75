"""labkit diff: per-device statuses and diffs between two designs or two git revisions, the summary a reviewer
reads first (routers added, readdressed, changed; lab-only nodes apart) and `--check` blocking a readdressing."""

from __future__ import annotations

import subprocess
from pathlib import Path

from labkit.cli import main
from labkit.diff import LAB_ONLY, diff_designs, diff_revision, summary

PHASE3 = Path(__file__).parents[2] / "topologies" / "phase3.yml"


def _with_count(tmp_path: Path, count: int, name: str = "b.yml") -> Path:
    path = tmp_path / name
    path.write_text(PHASE3.read_text().replace("count: 3", f"count: {count}"))
    return path


def _listed(tmp_path: Path, names: list[str], name: str) -> Path:
    """phase3 with its spokes listed (`spokes.nodes`) in the order given."""
    nodes = "".join(f"    - {{name: {n}, model: ESR-30}}\n" for n in names)
    path = tmp_path / name
    derived = "  count: 3\n  models: [ESR-15, ESR-30, ESR-31]\n"
    path.write_text(PHASE3.read_text().replace(derived, f"  nodes:\n{nodes}"))
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
    assert [d.name for d in devices if d.real] == ["hub1", "spoke1", "spoke2", "spoke3", "spoke4"]
    assert not any(d.readdressed for d in devices)


def test_summary_lists_the_added_router_with_its_addresses_and_lab_only_nodes_apart(tmp_path):
    counts, sections = summary(diff_designs(PHASE3, _with_count(tmp_path, 4)))
    assert counts == "1 added, 0 readdressed, 0 changed, 0 removed, 4 unchanged real routers; 2 lab-only nodes changed"
    assert sections == [("added", ["spoke4: tunnel 10.255.0.14, WAN 198.51.100.18/30, LAN 172.16.4.1/24"]),
                        (LAB_ONLY, ["(lab): changed", "inet: changed"])]


def test_a_spoke_inserted_mid_list_readdresses_the_ones_after_it_loudly(tmp_path, capsys):
    old = _listed(tmp_path, ["spoke1", "spoke2", "spoke3"], "old.yml")
    new = _listed(tmp_path, ["spoke1", "branch", "spoke2", "spoke3"], "new.yml")
    devices = diff_designs(old, new)
    assert [d.name for d in devices if d.readdressed] == ["spoke2", "spoke3"]
    counts, sections = summary(devices)
    assert counts.startswith("1 added, 2 readdressed, 0 changed, 0 removed, 2 unchanged real routers")
    assert sections[0] == ("READDRESSED: 2 existing routers get new addresses", [
        "spoke2: tunnel 10.255.0.12 -> 10.255.0.13, WAN 198.51.100.10/30 -> 198.51.100.14/30, "
        "LAN 172.16.2.1/24 -> 172.16.3.1/24",
        "spoke3: tunnel 10.255.0.13 -> 10.255.0.14, WAN 198.51.100.14/30 -> 198.51.100.18/30, "
        "LAN 172.16.3.1/24 -> 172.16.4.1/24"])
    assert main(["diff", str(old), str(new), "--check"]) == 1
    captured = capsys.readouterr()
    assert "error: the change readdresses 2 existing routers (spoke2, spoke3)" in captured.err
    assert "--allow-readdress" in captured.err and captured.out.startswith("1 added, 2 readdressed")
    assert main(["diff", str(old), str(new), "--check", "--allow-readdress"]) == 0


def test_check_passes_a_change_that_readdresses_no_router(tmp_path, capsys):
    appended = _listed(tmp_path, ["spoke1", "spoke2", "spoke3", "branch"], "new.yml")
    assert main(["diff", str(_listed(tmp_path, ["spoke1", "spoke2", "spoke3"], "old.yml")), str(appended),
                 "--check"]) == 0
    assert capsys.readouterr().err == ""


def test_a_cluster_s_one_configuration_is_one_device(tmp_path):
    cluster = PHASE3.parent / "cluster.yml"
    moved = tmp_path / "cluster.yml"
    moved.write_text(cluster.read_text().replace("  vrrp_id: 20\n", "  vrrp_id: 20\n  lan_vip: 10.0.0.250\n"))
    devices = diff_designs(cluster, moved)
    assert {d.name: d.status for d in devices if d.status != "unchanged"} == {"hub1+hub2": "changed"}
    [cluster_device] = [d for d in devices if d.readdressed]  # the cluster's HQ-segment VRRP address moves
    assert cluster_device.name == "hub1+hub2" and cluster_device.new.lan == "10.0.0.250/24"
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
    assert "**1 added, 0 readdressed" in out and "#### added\n\n- spoke4: tunnel 10.255.0.14" in out
    assert f"#### {LAB_ONLY}\n\n- (lab): changed\n- inet: changed" in out and "```diff" in out


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
