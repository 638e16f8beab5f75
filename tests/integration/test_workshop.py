"""Every exercise of the course for real, in groups on one design's lab each, so that each group's lab comes up once
and each exercise starts on the lab the previous one left (a start on a running lab is a reset in place): for each
exercise, `labkit workshop start` (the start faults), `check` fails with the exercise's intended reason (its
failing checks fail, its controls pass), `solution --apply` makes `check --wait` pass. The group's last exercise is
then `reset`, and fails again as at its start. A design with many exercises (phase 3's ten) has several groups, each
a student's lab of its own, so that the groups run side by side like the rest of the lab tests. How long each step
took goes to reports/workshop-test/ (the figures are measured, not asserted)."""

from __future__ import annotations

import json
import time
from itertools import groupby

import pytest

from labkit.verify.collect import platform
from labkit.verify.deadlines import BGP
from labkit.workshop.exercise import Exercise, load_course
from tests.conftest import ROOT
from tests.integration.conftest import check_prerequisites, leftovers

pytestmark = [pytest.mark.lab, pytest.mark.workshop]

STUDENT = "ci"
COURSE = load_course(ROOT / "workshop")
BY_DESIGN = {lab: list(group) for lab, group in groupby(sorted(COURSE, key=lambda e: (e.design.lab, e.name)),
                                                        key=lambda e: e.design.lab)}
# a design whose exercises take long in one lab (phase 3's ten: 1,220 s in CI) is split into this many groups, its
# exercises dealt out in turn; each group is a student's lab of its own (ci1, ci2...)
SPLIT = {"dmvpn-phase3": 3}
GROUPS = {(f"{lab}-{n + 1}" if SPLIT.get(lab, 1) > 1 else lab):
          (f"{STUDENT}{n + 1}" if SPLIT.get(lab, 1) > 1 else STUDENT, exercises[n::SPLIT.get(lab, 1)])
          for lab, exercises in BY_DESIGN.items() for n in range(SPLIT.get(lab, 1))}
# what one command may take before the test stops it: a cold start boots the VM and the lab (TCG, 2 cores)
START_LIMIT_S = 600
CHECK_LIMIT_S = 900  # `check --wait`: every check's design-derived deadline, plus its commands


# printed from every node of a group's lab when one of its steps failed, before the lab is stopped: what says why a
# node is out of the cloud or a path drops packets (IKE and CHILD SAs and charon's last words, NHRP, and the links,
# routes, SAs and drop counters a failed MTU boundary keeps: the lab platform's path_state)
NODE_STATE = ("swanctl --list-sas; tail -n 25 /run/charon.log; vtysh -c 'show ip nhrp nhs' -c 'show ip nhrp cache'; "
              + platform("frr-lab").facts["path_state"].command)


def _print_node_state(labkit, exercise: Exercise, lab: str) -> None:
    """Each node's state as NODE_STATE shows it, printed into the test's output."""
    for node in exercise.design.node_names:
        labkit("exec", str(exercise.design.source), "--set", f"lab={lab}", node, "--", "sh", "-c", NODE_STATE,
               timeout=120)


def _verdicts(output: str) -> list[str]:
    """PASS/FAIL/???? of each check, in the exercise's order, from `labkit workshop check`'s output."""
    return [line.split()[0] for line in output.splitlines() if line[:4] in ("PASS", "FAIL", "????")]


def _intended_failure(labkit, exercise: Exercise, student: str) -> float:
    """Quick checks, repeated until the controls pass (the lab converged) within the design's BGP deadline: then
    the checks that fail at the start must fail, with the exercise's own text. Returns how long that took."""
    began = time.monotonic()
    wanted = ["FAIL" if c.fails_at_start else "PASS" for c in exercise.checks]
    end = time.monotonic() + BGP(exercise.design) + 60
    while True:
        done = labkit("workshop", "check", "--student", student, timeout=CHECK_LIMIT_S)
        seen = _verdicts(done.stdout)
        if seen == wanted or time.monotonic() > end:
            break
        time.sleep(5)
    assert done.returncode == 1 and seen == wanted, f"{exercise.name}: expected {wanted}, got {seen}\n{done.stdout}"
    for check in exercise.checks:
        if check.fails_at_start:
            assert f"FAIL  {check.fail_text}" in done.stdout
    return time.monotonic() - began


def _timed(labkit, *args: str, student: str, timeout: float) -> tuple[float, object]:
    began = time.monotonic()
    done = labkit(*args, "--student", student, timeout=timeout)
    return time.monotonic() - began, done


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_exercise_fails_at_start_and_passes_with_its_solution(group: str, labkit):
    """Every exercise of the group on its lab in turn, then its last one reset."""
    check_prerequisites()
    student, exercises = GROUPS[group]
    lab = f"{exercises[0].design.lab}-{student}"
    figures: dict[str, dict[str, float]] = {}
    try:
        for exercise in exercises:
            took = figures[exercise.name] = {}
            took["start_s"], started = _timed(labkit, "workshop", "start", exercise.name, student=student,
                                              timeout=START_LIMIT_S)
            assert started.returncode == 0, started.stderr[-3000:]
            took["failing_s"] = _intended_failure(labkit, exercise, student)
            applied = labkit("workshop", "solution", "--apply", "--student", student, timeout=300)
            assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-3000:]
            took["solved_s"], solved = _timed(labkit, "workshop", "check", "--wait", student=student,
                                              timeout=CHECK_LIMIT_S)
            assert solved.returncode == 0, f"{exercise.name} with its solution:\n{solved.stdout}"
        took["reset_s"], reset = _timed(labkit, "workshop", "reset", student=student, timeout=START_LIMIT_S)
        assert reset.returncode == 0, reset.stderr[-3000:]
        took["failing_after_reset_s"] = _intended_failure(labkit, exercise, student)
    except AssertionError:
        _print_node_state(labkit, exercise, lab)
        raise
    finally:
        labkit("workshop", "stop", "--student", student)
        _record(group, figures)
    assert leftovers(lab) == []


def _record(group: str, figures: dict[str, dict[str, float]]) -> None:
    """The group's timings, reports/workshop-test/<group>.json."""
    path = ROOT / "reports" / "workshop-test" / f"{group}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    rounded = {name: {k: round(v, 1) for k, v in took.items()} for name, took in figures.items()}
    path.write_text(json.dumps(rounded, indent=2) + "\n")
