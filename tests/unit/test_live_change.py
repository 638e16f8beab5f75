"""Live change of a running lab: what a changed design does to each node (computed from the recorded state and
the new build), how the namespaces runtime applies it, and what `labkit up` does with a running lab."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from labkit.console import Console
from labkit.design import load_design
from labkit.errors import LabkitError
from labkit.platforms import lab_node
from labkit.render.generate import generate
from labkit.runtime import bringup
from labkit.runtime.change import LabChange, LabState, files_digest, lab_change, lab_state
from labkit.runtime.clab import ClabRuntime
from labkit.runtime.executor import Completed
from labkit.runtime.hostns import HostNetnsRuntime
from labkit.runtime.labspec import LinkSpec, read_lab
from tests.conftest import TOPOLOGIES

DESIGNS = sorted(TOPOLOGIES.glob("*.yml"))
L = LinkSpec


def _state(nodes: dict[str, str], *links: LinkSpec) -> LabState:
    return LabState(nodes, frozenset(links))


class Lab:
    """A design file edited in place and rebuilt into the same build directory, as a user changes a lab."""

    def __init__(self, design_file: Path, folder: Path):
        self.design = folder / design_file.name
        self.design.write_text(design_file.read_text())
        self.build_root = folder / "build"

    def resize(self, by: int) -> str:
        """Change spokes.count by `by`; the name of the spoke added or removed."""
        count = len(load_design(self.design).spokes)
        self.edit(f"count: {count}", f"count: {count + by}")
        return f"spoke{max(count, count + by)}"

    def edit(self, old: str, new: str) -> None:
        text = self.design.read_text()
        assert old in text, f"{self.design.name} has no {old!r}"
        self.design.write_text(text.replace(old, new, 1))

    def state(self) -> LabState:
        return lab_state(read_lab(generate(load_design(self.design), self.build_root).clab_file))


# --- the change itself (pure) ---


def test_the_same_state_changes_nothing():
    state = _state({"inet": "a", "hub1": "b"}, L("inet", "eth1", "hub1", "eth1"))
    change = lab_change(state, state)
    assert change.empty and change.unchanged == ("inet", "hub1")
    assert change.actions() == {"inet": "untouched", "hub1": "untouched"}


def test_added_removed_changed_and_untouched_nodes():
    old = _state({"inet": "t", "hub1": "h", "spoke1": "s1", "spoke2": "s2"},
                 L("inet", "eth1", "hub1", "eth1"), L("inet", "eth2", "spoke1", "eth1"),
                 L("inet", "eth3", "spoke2", "eth1"))
    new = _state({"inet": "t", "hub1": "h2", "spoke1": "s1", "spoke3": "s3"},
                 L("inet", "eth1", "hub1", "eth1"), L("inet", "eth2", "spoke1", "eth1"),
                 L("inet", "eth4", "spoke3", "eth1"))
    change = lab_change(old, new)
    assert change == LabChange(added=("spoke3",), removed=("spoke2",), changed=("inet", "hub1"),
                               unchanged=("spoke1",), added_links=(L("inet", "eth4", "spoke3", "eth1"),),
                               removed_links=(L("inet", "eth3", "spoke2", "eth1"),))
    assert list(change.actions().items()) == [("spoke3", "started"), ("spoke2", "stopped"), ("inet", "restarted"),
                                              ("hub1", "restarted"), ("spoke1", "untouched")]


def test_a_link_between_kept_nodes_changes_both_ends_even_with_the_same_files():
    """A rewired link must be set up by both ends' start scripts, so both restart."""
    nodes = {"inet": "t", "hub1": "h", "hq": "c"}
    old = _state(nodes, L("inet", "eth1", "hub1", "eth1"))
    new = _state(nodes, L("inet", "eth1", "hub1", "eth1"), L("hub1", "eth2", "hq", "eth1"))
    change = lab_change(old, new)
    assert change.changed == ("hub1", "hq") and change.unchanged == ("inet",)
    assert change.added_links == (L("hub1", "eth2", "hq", "eth1"),) and not change.removed_links


def test_renumbered_links_are_removed_and_added():
    """A spoke removed from the middle of a list: the transport's ports after it are renumbered."""
    old = _state({"inet": "t", "s1": "1", "s2": "2", "s3": "3"}, L("inet", "eth1", "s1", "eth1"),
                 L("inet", "eth2", "s2", "eth1"), L("inet", "eth3", "s3", "eth1"))
    new = _state({"inet": "t2", "s1": "1", "s3": "3"}, L("inet", "eth1", "s1", "eth1"),
                 L("inet", "eth2", "s3", "eth1"))
    change = lab_change(old, new)
    assert change.removed == ("s2",) and change.changed == ("inet", "s3") and change.unchanged == ("s1",)
    assert change.removed_links == (L("inet", "eth2", "s2", "eth1"), L("inet", "eth3", "s3", "eth1"))
    assert change.added_links == (L("inet", "eth2", "s3", "eth1"),)


def test_state_survives_the_record_and_an_old_record_has_none():
    state = _state({"inet": "t", "hub1": "h"}, L("inet", "eth1", "hub1", "eth1"))
    assert LabState.from_json(json.loads(json.dumps(state.to_json()))) == state
    assert LabState.from_json({"runtime": "microvm", "lab": "x", "vm_pid": 1}) is None


# --- digests of real builds ---


@pytest.mark.parametrize("design_file", DESIGNS, ids=lambda p: p.stem)
def test_adding_a_spoke_starts_it_and_restarts_only_the_transport(design_file: Path, tmp_path: Path):
    lab = Lab(design_file, tmp_path)
    old = lab.state()
    added = lab.resize(+1)
    change = lab_change(old, lab.state())
    design = load_design(lab.design)
    assert change.added == (added,) and change.changed == (design.transport.name,) and not change.removed
    assert set(change.unchanged) == set(old.nodes) - {design.transport.name}
    assert change.added_links == (L(design.transport.name, f"eth{len(design.sites)}", added, "eth1"),)
    assert not change.removed_links


@pytest.mark.parametrize("design_file", DESIGNS, ids=lambda p: p.stem)
def test_removing_a_spoke_stops_it_and_restarts_only_the_transport(design_file: Path, tmp_path: Path):
    lab = Lab(design_file, tmp_path)
    lab.resize(+1)  # from one spoke more than the file's, which may be the least its cases need
    old = lab.state()
    removed = lab.resize(-1)
    change = lab_change(old, lab.state())
    transport = load_design(lab.design).transport.name
    assert change.removed == (removed,) and change.changed == (transport,) and not change.added
    assert change.removed_links == (next(link for link in old.links if removed in (link.a, link.b)),)


def test_regenerating_an_unchanged_design_changes_nothing(tmp_path: Path):
    lab = Lab(TOPOLOGIES / "phase3.yml", tmp_path)
    assert lab_change(lab.state(), lab.state()).empty


def test_a_setting_every_site_renders_restarts_every_site_and_not_the_transport(tmp_path: Path):
    lab = Lab(TOPOLOGIES / "phase3.yml", tmp_path)
    old = lab.state()
    lab.edit("holdtime: 30 ", "holdtime: 60 ")
    change = lab_change(old, lab.state())
    assert change.changed == ("hub1", "spoke1", "spoke2", "spoke3") and change.unchanged == ("inet",)


def test_the_digest_covers_content_mode_and_bind_target(tmp_path: Path):
    spec = read_lab(generate(load_design(TOPOLOGIES / "phase3.yml"), tmp_path).clab_file)
    hub = spec.node("hub1")
    before = files_digest(hub)
    start = tmp_path / "dmvpn-phase3" / "nodes" / "hub1" / "labkit" / "start.sh"
    start.chmod(0o644)
    assert files_digest(hub) != before
    start.chmod(0o755)
    assert files_digest(hub) == before
    start.write_text(start.read_text() + "# edited\n")
    assert files_digest(hub) != before
    moved = type(hub)(hub.name, hub.role, tuple((source, target + "x") for source, target in hub.binds))
    assert files_digest(moved) != files_digest(hub)


# --- applying it in the namespaces runtime ---


class FakeKernel:
    """Stands in for the executor: records every command, answers `ip netns list`, fails chosen nodes' steps."""

    def __init__(self, namespaces: list[str], failing: str | None = None):
        self.namespaces = namespaces
        self.failing = failing
        self.ran: list[list[str]] = []
        self.pids = {f"dmvpn-phase3-{node}": str(100 + i) for i, node in
                     enumerate(("inet", "hub1", "spoke1", "spoke2", "spoke3", "spoke4"))}

    def run(self, argv: list[str], timeout: float = 60, stdin: str | None = None, *, group=None,
            env=None) -> Completed:
        if "init.pid" in " ".join(argv) and "grep" in " ".join(argv):  # the nodes' inits, as their folders say
            return Completed(0, "".join(f"{ns.removeprefix('dmvpn-phase3-')}/init.pid:{pid}\n"
                                        for ns, pid in self.pids.items()), "")
        self.ran.append(argv)
        if argv == ["ip", "netns", "list"]:
            return Completed(0, "\n".join(self.namespaces), "")
        if self.failing and argv[:3] == ["nsenter", "-t", self.pids[self.failing]]:
            return Completed(1, "", "no luck")
        return Completed(0, "", "")

    def attach_argv(self, argv: list[str], *, group=None, env=None) -> list[str]:
        return argv

    def steps(self) -> list[tuple[str, str]]:
        """What ran, as (step, where): scripts in the kernel, and per node the start script or a restart."""
        found = []
        for argv in self.ran:
            if argv[0] == "nsenter":
                node = next(ns for ns, pid in self.pids.items() if pid == argv[2])
                found.append(("restart" if argv[-1] == lab_node().restart else "start", node))
            elif argv[:2] == ["sh", "-c"]:
                found.append(("script", argv[2]))
        return found


@pytest.fixture
def records(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("LABKIT_RUN_DIR", str(tmp_path / "records"))
    return tmp_path / "records"


def _changed(lab: Lab, old: str, new: str, kernel: FakeKernel) -> tuple[HostNetnsRuntime, LabChange]:
    """The lab's build recorded as running, then its design edited and rebuilt: the runtime of the new build
    (commands going to `kernel`) and the change to apply."""
    HostNetnsRuntime(read_lab(generate(load_design(lab.design), lab.build_root).clab_file)).write_record()
    lab.edit(old, new)
    runtime = HostNetnsRuntime(read_lab(generate(load_design(lab.design), lab.build_root).clab_file))
    runtime.lab.executor = kernel
    recorded = runtime.recorded_state()
    assert recorded is not None
    return runtime, lab_change(recorded, lab_state(runtime.spec))


def _add_spoke(tmp_path: Path, kernel: FakeKernel) -> tuple[HostNetnsRuntime, LabChange]:
    return _changed(Lab(TOPOLOGIES / "phase3.yml", tmp_path), "count: 3\n", "count: 4\n", kernel)


def test_a_live_change_adds_links_restarts_changed_nodes_then_starts_added_ones(tmp_path: Path, records: Path):
    kernel = FakeKernel([])
    runtime, change = _add_spoke(tmp_path, kernel)
    said: list[str] = []
    runtime.change(change, said.append)
    steps = kernel.steps()
    assert steps[1:] == [("restart", "dmvpn-phase3-inet"), ("start", "dmvpn-phase3-spoke4")]
    made = steps[0][1].splitlines()  # the node made in a subshell of its own, then its link
    assert made[:4] == ["set -e", "(", "set -e", "ip netns add dmvpn-phase3-spoke4"] and "unshare" in made[5]
    assert made[-5:-3] == [") & made0=$!", "wait $made0"]
    assert made[-3:] == ["ip -batch - <<'END_LINKS'",
                         "link add eth5 netns dmvpn-phase3-inet type veth peer name eth1 netns dmvpn-phase3-spoke4",
                         "END_LINKS"]
    assert said == ["1 nodes and 1 links created", "inet restarted", "spoke4 started"]
    recorded = runtime.recorded_state()
    assert recorded is not None and lab_change(recorded, lab_state(runtime.spec)).empty


def test_a_live_change_stops_removed_nodes_and_frees_their_ports_first(tmp_path: Path, records: Path):
    kernel = FakeKernel([])
    runtime, change = _changed(Lab(TOPOLOGIES / "phase3.yml", tmp_path), "count: 3\n", "count: 2\n", kernel)
    said: list[str] = []
    runtime.change(change, said.append)
    script = kernel.steps()[0][1]
    assert script.index("ip -n dmvpn-phase3-inet link del eth4") < script.index('echo "netns del $ns"')
    assert "for ns in dmvpn-phase3-spoke3; do" in script and "rm -rf /run/labkit/dmvpn-phase3/nodes/spoke3" in script
    assert kernel.steps()[1:] == [("restart", "dmvpn-phase3-inet")]
    assert said == ["stopped 1 nodes (spoke3), removed 1 links", "inet restarted"]


def test_a_failed_live_change_removes_the_lab(tmp_path: Path, records: Path):
    kernel = FakeKernel(["dmvpn-phase3-inet", "dmvpn-phase3-hub1"], failing="dmvpn-phase3-spoke4")
    runtime, change = _add_spoke(tmp_path, kernel)
    said: list[str] = []
    with pytest.raises(LabkitError, match="spoke4: start script failed"):
        runtime.change(change, said.append)
    assert said[-2:] == ["the live change failed or was interrupted: removing the lab", "removed 2 namespaces"]
    assert "rm -rf /run/labkit/dmvpn-phase3" in kernel.steps()[-1][1]
    assert not (records / "dmvpn-phase3.json").exists()


def test_containerlab_refuses_a_live_change(tmp_path: Path):
    spec = read_lab(generate(load_design(TOPOLOGIES / "phase3.yml"), tmp_path).clab_file)
    with pytest.raises(LabkitError, match=r"runtime clab cannot change a running lab: `labkit down` the lab first"):
        ClabRuntime(spec).change(LabChange(("spoke4",), (), (), (), (), ()), lambda line: None)


# --- `labkit up` on a running lab ---


class Running:
    """A running lab's runtime as `labkit up` sees it: its recorded state, and what `change` was asked."""

    name = "netns"

    def __init__(self, spec, recorded: LabState | None):
        self.spec, self.recorded = spec, recorded
        self.changes: list[LabChange] = []

    def recorded_state(self) -> LabState | None:
        return self.recorded

    def change(self, change: LabChange, say) -> None:
        self.changes.append(change)


def _up(lab: Lab, recorded: LabState | None, states: dict, capsys) -> tuple[Running, str]:
    design = load_design(lab.design)
    running = Running(read_lab(generate(design, lab.build_root).clab_file), recorded)
    bringup.change_live(design.source, running, states, Console())
    return running, re.sub(r"\[ *[\d.]+s\] ", "", capsys.readouterr().err)


HEALTHY = {"zebra": "up", "bgpd": "up", "netns": "up"}


def test_up_on_a_running_lab_that_matches_its_design_does_nothing(tmp_path: Path, capsys):
    lab = Lab(TOPOLOGIES / "phase3.yml", tmp_path)
    running, said = _up(lab, lab.state(), {}, capsys)
    assert running.changes == [] and "is running and matches" in said and "nothing to change" in said


def test_up_on_a_changed_design_changes_the_lab_and_summarises_per_node(tmp_path: Path, capsys):
    lab = Lab(TOPOLOGIES / "phase3.yml", tmp_path)
    old = lab.state()
    lab.edit("count: 3\n", "count: 4\n")
    states = {node: HEALTHY for node in old.nodes} | {"spoke4": {}}
    running, said = _up(lab, old, states, capsys)
    assert [c.added for c in running.changes] == [("spoke4",)]
    assert "1 nodes to start, 0 to stop, 1 to restart" in said
    summary = [line.split() for line in said.splitlines() if line.startswith("  ")]
    assert summary == [["spoke4", "started"], ["inet", "restarted"], ["hub1", "untouched"],
                       ["spoke1", "untouched"], ["spoke2", "untouched"], ["spoke3", "untouched"]]


def test_up_refuses_to_change_a_lab_whose_untouched_nodes_are_unhealthy(tmp_path: Path, capsys):
    lab = Lab(TOPOLOGIES / "phase3.yml", tmp_path)
    old = lab.state()
    lab.edit("count: 3\n", "count: 4\n")
    states = {node: HEALTHY for node in old.nodes} | {"spoke2": HEALTHY | {"bgpd": "down"}, "inet": {}}
    with pytest.raises(LabkitError, match=r"not every node is healthy \(spoke2: see `labkit status"):
        _up(lab, old, states, capsys)


def test_up_refuses_to_change_a_lab_recorded_without_its_state(tmp_path: Path, capsys):
    lab = Lab(TOPOLOGIES / "phase3.yml", tmp_path)
    with pytest.raises(LabkitError, match="its record does not say which files its nodes run"):
        _up(lab, None, {}, capsys)


def test_a_running_lab_runs_its_build_until_its_design_changes(tmp_path: Path, records: Path):
    lab = Lab(TOPOLOGIES / "phase3.yml", tmp_path)
    runtime = HostNetnsRuntime(read_lab(generate(load_design(lab.design), lab.build_root).clab_file))
    assert not bringup.runs_build(runtime, generate(load_design(lab.design), lab.build_root).clab_file)  # no record yet
    runtime.write_record()
    assert bringup.runs_build(runtime, generate(load_design(lab.design), lab.build_root).clab_file)
    lab.edit("holdtime: 30 ", "holdtime: 60 ")
    assert not bringup.runs_build(runtime, generate(load_design(lab.design), lab.build_root).clab_file)


def test_touched_nodes_are_noted_until_forgotten_or_the_lab_goes(tmp_path: Path, records: Path):
    runtime = HostNetnsRuntime(read_lab(generate(load_design(TOPOLOGIES / "phase3.yml"), tmp_path).clab_file))
    assert runtime.touched() == set()
    runtime.mark_touched(["spoke3"])
    runtime.mark_touched(["hub1", "spoke3"])
    assert runtime.touched() == {"hub1", "spoke3"}
    runtime.forget_touched()
    assert runtime.touched() == set()
    runtime.write_record()
    runtime.mark_touched(["inet"])
    runtime.drop_record()
    assert runtime.touched() == set() and list(records.iterdir()) == []
