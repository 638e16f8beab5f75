"""Workshop mode without a lab: the course's files load and are validated like design files, students and their
labs are named safely, progress is kept, the class view renders, and the commands are wired (a fake runtime
stands in only where the test is about the workshop's logic, never about the network)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from labkit import cli
from labkit.console import Console
from labkit.errors import DesignError, LabkitError
from labkit.runtime.executor import Completed
from labkit.verify.engine import Result
from labkit.workshop import commands, lab
from labkit.workshop.classview import class_html, class_rows, class_table
from labkit.workshop.exercise import exercise_folder, load_course, load_exercise
from labkit.workshop.progress import Progress, ProgressStore
from labkit.workshop.student import student_lab, student_name
from tests.conftest import ROOT

COURSE = ROOT / "workshop"
GUIDE_SECTIONS = ("## Goal", "## The lab", "## Tasks", "## What to observe", "## On a real ESR")


@pytest.fixture(scope="module")
def course():
    return load_course(COURSE)


def test_every_exercise_of_the_course_loads_with_a_guide_of_the_same_shape(course):
    assert len(course) >= 12
    assert [e.name for e in course] == sorted(e.name for e in course)
    for exercise in course:
        guide = exercise.guide.read_text(encoding="utf-8")
        assert guide.startswith(f"# {exercise.name[:2]} "), exercise.name
        assert all(section in guide for section in GUIDE_SECTIONS), exercise.name
        assert f"labkit workshop start {exercise.name[:2]}" in guide
        assert exercise.hints and exercise.solution and any(c.fails_at_start for c in exercise.checks)


def test_the_course_covers_the_break_fix_faults_the_issue_asks_for(course):
    faults = {step.fault for e in course for step in e.start}
    assert {"wrong_psk", "ike_proposal_mismatch", "esp_proposal_mismatch", "gre_key_mismatch",
            "frag_needed_filtered", "spoke_underlay_blocked", "overlay_removed", "vrf_route_leaked"} <= faults
    designs = {e.design.lab for e in course}
    assert {"dmvpn-phase1", "dmvpn-phase2", "dmvpn-phase3", "dmvpn-failover", "dmvpn-cluster", "dmvpn-mpls"} <= designs


def test_solutions_are_rendered_with_the_nodes_values(course):
    by_name = {e.name: e for e in course}
    [gre] = by_name["09-gre-key"].solution
    assert gre.shell == "ip link change gre1 type gre key 42" and gre.argv() == ["sh", "-c", gre.shell]
    [built] = by_name["01-phase1-by-hand"].solution
    assert "ip nhrp nhs dynamic nbma 198.51.100.2" in built.cli and "network 172.16.3.0/24" in built.cli
    assert built.argv()[:3] == ["vtysh", "-c", "configure terminal"]


@pytest.mark.skipif(shutil.which("vtysh") is None and os.environ.get("CI") != "true",
                    reason="FRR's vtysh is not installed (`make deps` installs it; with CI=true this fails)")
def test_every_vtysh_line_of_the_solutions_is_valid_frr_configuration(course, tmp_path: Path):
    """vtysh's dry run (-C) parses a configuration without any daemon: each solution's configuration lines."""
    assert shutil.which("vtysh"), "FRR's vtysh is not installed: `make deps` installs it"
    (tmp_path / "vtysh.conf").write_text("")
    for exercise in course:
        lines = [line for step in exercise.solution for line in step.cli
                 if line not in ("configure terminal", "end") and not line.startswith("clear ")]
        if not lines:
            continue
        config = tmp_path / "solution.conf"
        config.write_text("\n".join(lines) + "\n")
        done = subprocess.run(["vtysh", "--config_dir", str(tmp_path), "-C", "-f", str(config)],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, f"{exercise.name}: {done.stdout}{done.stderr}"


def test_an_exercise_is_called_by_name_number_or_slug():
    assert exercise_folder(COURSE, "05").name == "05-hub-redirect"
    assert exercise_folder(COURSE, "5") == exercise_folder(COURSE, "hub-redirect") == COURSE / "05-hub-redirect"
    with pytest.raises(LabkitError, match="no exercise '99'"):
        exercise_folder(COURSE, "99")


GOOD = """\
title: t
goal: g
design: {design}
start:
  - fault: wrong_psk
    node: spoke3
checks:
  - check: joined
    params: {{spoke: spoke3}}
    pass: in
    fail: out
hints: [look]
"""
SOLUTION = """\
explanation: e
steps:
  - node: spoke3
    shell: swanctl --load-creds
"""


def _exercise(tmp_path: Path, exercise: str = GOOD, solution: str = SOLUTION, name: str = "01-test") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "exercise.yml").write_text(exercise.format(design=ROOT / "topologies" / "phase3.yml"))
    (folder / "solution.yml").write_text(solution)
    (folder / "guide.md").write_text("# 01 t\n")
    return folder


def _problems(tmp_path: Path, exercise: str = GOOD, solution: str = SOLUTION, name: str = "01-test") -> list[str]:
    with pytest.raises(DesignError) as caught:
        load_exercise(_exercise(tmp_path, exercise, solution, name))
    return caught.value.problems


def test_a_good_exercise_loads(tmp_path: Path):
    exercise = load_exercise(_exercise(tmp_path))
    assert exercise.start[0].fault == "wrong_psk" and exercise.checks[0].check.id == "joined.spoke3"


@pytest.mark.parametrize(("change", "expected"), [
    (("fault: wrong_psk", "fault: wrong_pks"), "exercise.yml:5: start[0].fault: unknown value 'wrong_pks'"),
    (("node: spoke3", "node: spoke9"), "exercise.yml:6: start[0].node: 'spoke9' is not a node of"),
    (("check: joined", "check: joinde"), "exercise.yml:8: checks[0].check: unknown check 'joinde'; checks:"),
    (("{spoke: spoke3}", "{spoke: hub1}"), "checks[0].check: 'hub1' is not a spoke of"),
    (("{spoke: spoke3}", "{node: spoke3}"), "checks[0].check: joined takes spoke; unknown: node; missing: spoke"),
    (("    pass: in\n", ""), "exercise.yml:8: checks[0].pass: is required"),
    (("    fail: out\n", "    fail: out\n    at_start: pass\n"), "exercise.yml:7: checks: no check fails at the start"),
    (("hints: [look]", "hint: [look]"), "exercise.yml:12: hint: unknown field; did you mean 'hints' (required)?"),
    (("design: ", "design: nowhere/"), "exercise.yml:3: design: the design does not load:"),
    (("check: joined\n    params: {spoke: spoke3}", "check: no_shortcut\n    params: {from: spoke1, to: spoke2}"),
     None),
])
def test_exercise_problems_name_file_line_field_and_fix(tmp_path: Path, change: tuple[str, str], expected: str | None):
    text = GOOD.replace(*change)
    if expected is None:  # a valid change: a phase 3 design has shortcuts
        load_exercise(_exercise(tmp_path, text))
        return
    problems = _problems(tmp_path, text)
    assert any(expected in line for line in problems), problems


def test_a_check_unfit_for_the_design_is_refused(tmp_path: Path):
    text = GOOD.replace("check: joined\n    params: {{spoke: spoke3}}", "check: vrf_isolated")
    assert any("vrf_isolated needs a design with `mpls:`" in line for line in _problems(tmp_path, text))


def test_a_fault_parameter_is_checked_against_the_node(tmp_path: Path):
    text = GOOD.replace("node: spoke3\nchecks", "node: inet\n    params: {{interface: eth9, mtu: 1400}}\nchecks")
    text = text.replace("fault: wrong_psk", "fault: wan_mtu")
    assert any("start[0].params.interface: inet has no interface 'eth9'; its links: eth1, eth2, eth3, eth4" in line
               for line in _problems(tmp_path, text))


@pytest.mark.parametrize(("solution", "expected"), [
    (SOLUTION + "    cli: [end]\n", "solution.yml:3: steps[0]: give either `cli`"),
    (SOLUTION.replace("swanctl --load-creds", "echo {{ nothing.here }}"), "steps[0].shell: 'echo {{ nothing.here }}'"),
    (SOLUTION.replace("explanation: e\n", ""), "solution.yml:1: explanation: is required"),
    ("steps: [\n", "solution.yml:2: invalid YAML"),
])
def test_solution_problems_name_file_line_field_and_fix(tmp_path: Path, solution: str, expected: str):
    problems = _problems(tmp_path, solution=solution)
    assert any(expected in line for line in problems), problems


def test_a_missing_file_and_a_misnamed_folder_are_reported(tmp_path: Path):
    folder = _exercise(tmp_path, name="test")
    (folder / "solution.yml").unlink()
    with pytest.raises(DesignError) as caught:
        load_exercise(folder)
    assert any("must be named NN-slug" in line for line in caught.value.problems)
    assert any(line.endswith("solution.yml: is missing: every exercise has exercise.yml and solution.yml")
               for line in caught.value.problems)


def test_student_names(monkeypatch):
    monkeypatch.delenv("LABKIT_STUDENT", raising=False)
    monkeypatch.setenv("SUDO_USER", "anna")
    assert student_name(None) == "anna" and student_name("bob2") == "bob2"
    monkeypatch.setenv("LABKIT_STUDENT", "carl")
    assert student_name(None) == "carl"
    for bad in ("Anna", "anna.k", "toolongname", "a-b", ""):
        with pytest.raises(LabkitError, match="1-8 lower-case letters or digits"):
            student_name(bad or "-")
    assert student_lab("dmvpn-failover", "abcdefgh") == "dmvpn-failover-abcdefgh"  # the longest fits 24
    with pytest.raises(LabkitError, match="at most 3"):
        student_lab("a-lab-name-of-twenty", "anna")


def test_a_students_lab_is_the_exercises_design_under_its_own_name(course):
    design = course[0].student_design("anna")
    assert design.lab == "dmvpn-phase1-anna" and design.node_names == course[0].design.node_names
    assert "lab=dmvpn-phase1-anna" in design.overrides


def test_progress_start_hints_checks_and_pass(tmp_path: Path):
    store = ProgressStore(tmp_path)
    progress = store.load("anna")
    with pytest.raises(LabkitError, match="has started no exercise"):
        progress.current_attempt()
    progress.started("05-hub-redirect", "dmvpn-phase3-anna")
    progress.attempt("05-hub-redirect").hints_used = 2
    progress.checked("05-hub-redirect", ["direct.spoke1.spoke2"])
    store.save(progress)
    again = store.load("anna")
    attempt = again.attempt("05-hub-redirect")
    assert (again.current, again.lab, attempt.failing, attempt.passed) == (
        "05-hub-redirect", "dmvpn-phase3-anna", ["direct.spoke1.spoke2"], None)
    again.checked("05-hub-redirect", [])
    again.started("05-hub-redirect", "dmvpn-phase3-anna")  # a restart keeps the pass and the hints
    assert again.attempt("05-hub-redirect").passed and again.attempt("05-hub-redirect").hints_used == 2
    assert again.passed_count() == 1
    (tmp_path / "bob.json").write_text("{not json")
    with pytest.raises(LabkitError, match=r"bob\.json: unreadable progress file"):
        store.load("bob")


def test_last_progress_moves_only_when_fewer_checks_fail():
    progress = Progress("anna")
    progress.started("x", "lab")
    progress.checked("x", ["a", "b"])
    progress.last_progress = "2026-01-01T00:00:00+00:00"
    progress.checked("x", ["a", "b"])
    assert progress.last_progress == "2026-01-01T00:00:00+00:00"
    progress.checked("x", ["a"])
    assert progress.last_progress != "2026-01-01T00:00:00+00:00"


def test_class_view_as_table_and_html():
    anna, bob, carl = Progress("anna"), Progress("bob"), Progress("carl")
    anna.started("05-hub-redirect", "lab")
    anna.checked("05-hub-redirect", ["direct.spoke1.spoke2"])
    anna.exercises["05-hub-redirect"].hints_used = 1
    anna.last_progress = "2026-11-27T10:00:00+00:00"
    bob.started("01-phase1-by-hand", "lab")
    bob.checked("01-phase1-by-hand", [])
    bob.last_progress = "2026-11-27T07:00:00+00:00"
    rows = class_rows([anna, bob, carl], now=dt.datetime(2026, 11, 27, 10, 12, tzinfo=dt.UTC))
    table = class_table(rows, 15)
    lines = table.splitlines()
    assert lines[0].split() == ["student", "exercise", "passed", "failing", "checks", "hints", "last", "progress"]
    assert lines[1].split() == ["anna", "05-hub-redirect", "0/15", "direct.spoke1.spoke2", "1", "12", "min", "ago"]
    assert lines[2].split() == ["bob", "01-phase1-by-hand", "(passed)", "1/15", "-", "0", "3", "h", "ago"]
    assert lines[3].split() == ["carl", "-", "0/15", "-", "0", "-"]
    page = class_html(rows, 15, "2026-11-27T10:12:00+00:00")
    assert "<td>anna</td>" in page and 'class="passed"' in page and "direct.spoke1.spoke2" in page
    anna.student = "<b>"
    assert "&lt;b&gt;" in class_html(class_rows([anna]), 15, "now")  # escaped
    assert "no student has started" in class_table([], 15)


@pytest.fixture
def workshop_env(tmp_path: Path, monkeypatch):
    """The commands' folders in the test's own directory, the student `anna`."""
    monkeypatch.setenv("LABKIT_WORKSHOP_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("LABKIT_STUDENT", "anna")
    monkeypatch.setenv("LABKIT_BUILD_DIR", str(tmp_path / "build"))
    monkeypatch.setenv("LABKIT_REPORTS_DIR", str(tmp_path / "reports"))
    return tmp_path


def _started(exercise: str = "05-hub-redirect") -> None:
    store = commands.store()
    progress = store.load("anna")
    progress.started(exercise, "dmvpn-phase3-anna")
    store.save(progress)


def test_commands_before_any_start_say_what_to_do_without_a_traceback(workshop_env, capsys):
    assert cli.main(["workshop", "check"]) == 2
    assert cli.main(["workshop", "hint"]) == 2
    err = capsys.readouterr().err
    assert "error: anna has started no exercise: `labkit workshop list` shows them" in err
    assert "Traceback" not in err
    assert cli.main(["workshop", "check", "--student", "Anna"]) == 2
    assert "is not 1-8 lower-case letters or digits" in capsys.readouterr().err


def test_list_marks_the_current_exercise(workshop_env, capsys):
    _started()
    assert cli.main(["workshop", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) >= 12 and out[4].startswith("* 05-hub-redirect") and "started" in out[4]


def test_hints_come_in_order_and_are_counted(workshop_env, capsys):
    _started()
    hints = load_exercise(COURSE / "05-hub-redirect").hints
    for number in range(1, len(hints) + 2):
        assert cli.main(["workshop", "hint"]) == 0
        out = capsys.readouterr().out
        shown = min(number, len(hints))
        assert out.startswith(f"hint {shown} of {len(hints)}") and hints[shown - 1] in out
        assert ("that is the last hint" in out) == (number >= len(hints))
    assert commands.store().load("anna").attempt("05-hub-redirect").hints_used == len(hints)


def test_solution_prints_what_to_type_where(workshop_env, capsys):
    _started()
    assert cli.main(["workshop", "solution"]) == 0
    out = capsys.readouterr().out
    assert "1. on hub1: `labkit workshop shell hub1` (its CLI), then:\n     configure terminal" in out
    assert commands.store().load("anna").attempt("05-hub-redirect").solution_shown


class FakeRuntime:
    """Stands in for the student's lab: what the workshop asks of a runtime, recorded."""

    name = "fake"

    def __init__(self, states: dict[str, dict[str, str]] | None = None):
        self.states = states or {}
        self.calls: list[tuple] = []
        self.marks: set[str] = set()

    def mark_touched(self, nodes) -> None:
        self.marks |= set(nodes)

    def touched(self) -> set[str]:
        return set(self.marks)

    def forget_touched(self) -> None:
        self.marks = set()

    def status(self) -> dict[str, dict[str, str]]:
        return self.states

    def inject(self, fault, waited=None) -> str:
        self.calls.append(("inject", fault.node, fault.fault, fault.script))
        return ""

    def exec(self, node: str, argv: list[str], timeout: float = 60) -> Completed:
        self.calls.append(("exec", node, tuple(argv)))
        return Completed(0, "", "")


def test_check_tells_a_lab_that_is_not_up_from_a_wrong_configuration(workshop_env, capsys, monkeypatch):
    _started()
    monkeypatch.setattr(lab, "running", lambda name, root: None)
    assert cli.main(["workshop", "check"]) == 2
    assert "your lab dmvpn-phase3-anna is not up: this is not about your configuration" in capsys.readouterr().out
    broken = FakeRuntime({"inet": {"netns": "up"}, "hub1": {"bgpd": "down", "zebra": "up"}, "spoke1": {}})
    monkeypatch.setattr(lab, "running", lambda name, root: broken)
    assert cli.main(["workshop", "check"]) == 2
    out = capsys.readouterr().out
    assert "not usable (hub1: bgpd stopped; spoke1 is not running)" in out and "labkit workshop reset" in out


def _judged(exercise, statuses: list[str]) -> list[lab.Judged]:
    return [lab.Judged(c, Result(c.check.id, c.check.title, c.check.nodes, status, f"reason of {c.check.id}", [],
                                 1.0, 1)) for c, status in zip(exercise.checks, statuses, strict=True)]


def test_check_prints_the_exercises_texts_with_the_reason_and_records_the_result(workshop_env, capsys, monkeypatch):
    _started()
    exercise = load_exercise(COURSE / "05-hub-redirect")
    monkeypatch.setattr(lab, "running", lambda name, root: FakeRuntime({"hub1": {"bgpd": "up"}}))
    monkeypatch.setattr(lab, "judge", lambda *args, wait: _judged(exercise, ["fail", "pass"]))
    assert cli.main(["workshop", "check"]) == 1
    out = capsys.readouterr().out
    assert f"FAIL  {exercise.checks[0].fail_text}\n      why: reason of direct.spoke1.spoke2" in out
    assert "a change can take up to 60 s to show" in out and f"PASS  {exercise.checks[1].pass_text}" in out
    assert commands.store().load("anna").attempt("05-hub-redirect").failing == ["direct.spoke1.spoke2"]
    monkeypatch.setattr(lab, "judge", lambda *args, wait: _judged(exercise, ["pass", "pass"]))
    assert cli.main(["workshop", "check"]) == 0
    assert commands.store().load("anna").attempt("05-hub-redirect").passed
    monkeypatch.setattr(lab, "judge", lambda *args, wait: _judged(exercise, ["error", "pass"]))
    assert cli.main(["workshop", "check"]) == 2
    assert "1 checks could not run" in capsys.readouterr().out


def test_class_command_writes_the_html_page(workshop_env, capsys):
    _started()
    page = workshop_env / "class.html"
    assert cli.main(["-q", "workshop", "class", "--html", str(page)]) == 0
    assert "anna" in capsys.readouterr().out and "<td>anna</td>" in page.read_text()
    assert json.loads((workshop_env / "state" / "anna.json").read_text())["current"] == "05-hub-redirect"


def test_reset_restarts_only_touched_nodes_hubs_first_then_applies_the_start(course):
    exercise = next(e for e in course if e.name == "11-pmtud-black-hole")
    runtime = FakeRuntime()
    runtime.mark_touched(["spoke3", "hub1", "inet", "nosuchnode"])
    lab.reset_nodes(exercise.design, runtime, Console(quiet=True))
    lab.apply_start(exercise, exercise.design, runtime, lab.Roots(Path("b"), Path("r")), Console(quiet=True))
    resets = [node for kind, node, fault, *_ in runtime.calls if fault == "node_reset"]
    assert resets[0] == "hub1" and sorted(resets[1:]) == ["inet", "spoke3"]  # spoke1, spoke2 keep running
    assert all("mtu 1500" in call[3] for call in runtime.calls if call[2] == "node_reset")
    assert [(n, f) for _, n, f, _ in runtime.calls[3:]] == [("spoke3", "wan_mtu"), ("inet", "wan_mtu"),
                                                            ("inet", "frag_needed_filtered")]
    assert runtime.touched() == {"spoke3", "inet"}  # the start steps' nodes, for the next reset
    failover = next(e for e in course if e.name == "13-hub-failover").design
    everyone = set(failover.node_names)
    assert lab.waves(failover, everyone) == [["hub1", "hub2", "hq"], ["inet", "spoke1", "spoke2", "spoke3"]]
    assert lab.waves(failover, {"spoke2"}) == [["spoke2"]]


def test_a_reset_with_nothing_touched_restarts_nothing(course):
    exercise = next(e for e in course if e.name == "13-hub-failover")
    runtime = FakeRuntime()
    lab.reset_nodes(exercise.design, runtime, Console(quiet=True))
    assert runtime.calls == []


def test_the_solution_and_a_shell_mark_their_nodes_touched(course, workshop_env, monkeypatch):
    exercise = next(e for e in course if e.name == "05-hub-redirect")
    runtime = FakeRuntime()
    lab.apply_solution(exercise, runtime, Console(quiet=True))
    assert runtime.touched() == {"hub1"}
    _started()
    runtime.attach_argv = lambda node, argv: ["true"]
    monkeypatch.setattr(lab, "running", lambda name, root: runtime)
    monkeypatch.setattr(commands.os, "execvp", lambda program, argv: None)
    cli.main(["workshop", "shell", "spoke2"])
    assert runtime.touched() == {"hub1", "spoke2"}


def test_the_solution_is_applied_as_the_student_would_type_it(course):
    exercise = next(e for e in course if e.name == "05-hub-redirect")
    runtime = FakeRuntime()
    lab.apply_solution(exercise, runtime, Console(quiet=True))
    assert runtime.calls == [("exec", "hub1", ("vtysh", "-c", "configure terminal", "-c", "interface gre1", "-c",
                                               "ip nhrp redirect", "-c", "end"))]


def test_quick_checks_wait_seconds_and_waiting_ones_the_designs_deadline(course):
    check = next(e for e in course if e.name == "06-ipsec-wrong-key").checks[0].check
    assert lab._timed(check, wait=False).deadline_s == lab.QUICK_S
    assert lab._timed(check, wait=True).deadline_s == check.deadline_s > 100  # joined: from the design's timers


def test_exercises_on_one_design_name_it_alike_so_switching_restarts_no_node(course):
    phase3 = {str(e.design.source) for e in course if e.design.lab == "dmvpn-phase3"}
    assert phase3 == {str(COURSE.parent / "topologies" / "phase3.yml")}


def test_the_class_bench_gives_memory_per_lab_and_how_many_labs_fit():
    from labkit.workshop.bench import _memory, table

    before = {"guest_used_mib": 80.0, "guest_total_mib": 3900.0, "vm_rss_mib": 520.0}
    after = {"guest_used_mib": 410.0, "guest_total_mib": 3900.0, "vm_rss_mib": 880.0}
    figures = _memory(before, after, 3)
    assert figures["guest_mib_per_lab"] == 110.0 and figures["qemu_rss_mib_per_lab"] == 120.0
    assert figures["labs_by_memory"] == (3900 - 80 - 512) // 110
    text = table({"exercise": "06-ipsec-wrong-key", "students": 3, "start_s": {"bench1": 70.2, "bench2": 31.0},
                  "reset_s": {"bench1": 19.4, "bench2": 21.6}, "quick_check_s": 24.0, "idle_cores": 0.41, **figures})
    assert "reset after the solution       19s 22s  (max 22s)" in text and "labs the guest's memory holds  30" in text
