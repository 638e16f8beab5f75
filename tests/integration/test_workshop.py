"""Every exercise of the course for real, grouped by design so that each design's lab comes up once and each
exercise starts on the lab the previous one left (a start on a running lab is a reset in place): for each
exercise, `labkit workshop start` (the start faults), `check` fails with the exercise's intended reason (its
failing checks fail, its controls pass), `solution --apply` makes `check --wait` pass. The group's last exercise is
then `reset`, and fails again as at its start. How long each step took goes to reports/workshop-test/ (the
figures are measured, not asserted: the README gives them)."""

from __future__ import annotations

import json
import time
from itertools import groupby

import pytest

from labkit.verify.deadlines import BGP
from labkit.workshop.exercise import Exercise, load_course
from tests.conftest import ROOT
from tests.integration.conftest import check_prerequisites, leftovers

pytestmark = [pytest.mark.lab, pytest.mark.workshop]

STUDENT = "ci"
COURSE = load_course(ROOT / "workshop")
BY_DESIGN = {lab: list(group) for lab, group in groupby(sorted(COURSE, key=lambda e: (e.design.lab, e.name)),
                                                        key=lambda e: e.design.lab)}
# what one command may take before the test stops it: a cold start boots the VM and the lab (TCG, 2 cores)
START_LIMIT_S = 600
CHECK_LIMIT_S = 900  # `check --wait`: every check's design-derived deadline, plus its commands


def _verdicts(output: str) -> list[str]:
    """PASS/FAIL/???? of each check, in the exercise's order, from `labkit workshop check`'s output."""
    return [line.split()[0] for line in output.splitlines() if line[:4] in ("PASS", "FAIL", "????")]


def _intended_failure(labkit, exercise: Exercise) -> float:
    """Quick checks, repeated until the controls pass (the lab converged) within the design's BGP deadline: then
    the checks that fail at the start must fail, with the exercise's own text. Returns how long that took."""
    began = time.monotonic()
    wanted = ["FAIL" if c.fails_at_start else "PASS" for c in exercise.checks]
    end = time.monotonic() + BGP(exercise.design) + 60
    while True:
        done = labkit("workshop", "check", "--student", STUDENT, timeout=CHECK_LIMIT_S)
        seen = _verdicts(done.stdout)
        if seen == wanted or time.monotonic() > end:
            break
        time.sleep(5)
    assert done.returncode == 1 and seen == wanted, f"{exercise.name}: expected {wanted}, got {seen}\n{done.stdout}"
    for check in exercise.checks:
        if check.fails_at_start:
            assert f"FAIL  {check.fail_text}" in done.stdout
    return time.monotonic() - began


def _timed(labkit, *args: str, timeout: float) -> tuple[float, object]:
    began = time.monotonic()
    done = labkit(*args, "--student", STUDENT, timeout=timeout)
    return time.monotonic() - began, done


def _course_on(design_lab: str, labkit) -> None:
    """Every exercise on the design's lab in turn, then its last one reset."""
    check_prerequisites()
    lab = f"{design_lab}-{STUDENT}"
    figures: dict[str, dict[str, float]] = {}
    try:
        for exercise in BY_DESIGN[design_lab]:
            took = figures[exercise.name] = {}
            took["start_s"], started = _timed(labkit, "workshop", "start", exercise.name, timeout=START_LIMIT_S)
            assert started.returncode == 0, started.stderr[-3000:]
            took["failing_s"] = _intended_failure(labkit, exercise)
            applied = labkit("workshop", "solution", "--apply", "--student", STUDENT, timeout=300)
            assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-3000:]
            took["solved_s"], solved = _timed(labkit, "workshop", "check", "--wait", timeout=CHECK_LIMIT_S)
            assert solved.returncode == 0, f"{exercise.name} with its solution:\n{solved.stdout}"
        took["reset_s"], reset = _timed(labkit, "workshop", "reset", timeout=START_LIMIT_S)
        assert reset.returncode == 0, reset.stderr[-3000:]
        took["failing_after_reset_s"] = _intended_failure(labkit, exercise)
    finally:
        labkit("workshop", "stop", "--student", STUDENT)
        _record(design_lab, figures)
    assert leftovers(lab) == []


# two lanes under `pytest -n 2 --dist loadscope` (one class, one lane), about even in CI (2026-11-27: phase 3 825 s
# + phase 2 126 s; MPLS 344 s + cluster 235 s + failover 217 s + phase 1 196 s)
FIRST_LANE = ("dmvpn-phase3", "dmvpn-phase2")


class TestPhase3AndPhase2Designs:
    @pytest.mark.parametrize("design_lab", FIRST_LANE)
    def test_every_exercise_fails_at_start_and_passes_with_its_solution(self, design_lab: str, labkit):
        _course_on(design_lab, labkit)


class TestOtherDesigns:
    @pytest.mark.parametrize("design_lab", sorted(set(BY_DESIGN) - set(FIRST_LANE)))
    def test_every_exercise_fails_at_start_and_passes_with_its_solution(self, design_lab: str, labkit):
        _course_on(design_lab, labkit)


def _record(design_lab: str, figures: dict[str, dict[str, float]]) -> None:
    """The group's timings, reports/workshop-test/<lab>.json."""
    path = ROOT / "reports" / "workshop-test" / f"{design_lab}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    rounded = {name: {k: round(v, 1) for k, v in took.items()} for name, took in figures.items()}
    path.write_text(json.dumps(rounded, indent=2) + "\n")
