"""Every exercise of the course for real, grouped by design so that each design's lab comes up once: for each
exercise, `labkit workshop start` (the start faults), `check` fails with the exercise's intended reason (its
failing checks fail, its controls pass), `solution --apply` makes `check --wait` pass, and `reset` returns to the
failing start in under 30 s (plus the convergence an exercise marked `converge: true` waits for).

Not part of `make test` yet: `make workshop-test` runs it (marker `workshop`)."""

from __future__ import annotations

import time
from itertools import groupby
from pathlib import Path

import pytest

from labkit.verify.deadlines import BGP
from labkit.workshop.exercise import Exercise, load_course
from tests.conftest import ROOT
from tests.integration.conftest import check_prerequisites, leftovers

pytestmark = [pytest.mark.lab, pytest.mark.workshop]

STUDENT = "ci"
RESET_LIMIT_S = 30
COURSE = load_course(ROOT / "workshop")
BY_DESIGN = {lab: list(group) for lab, group in groupby(sorted(COURSE, key=lambda e: (e.design.lab, e.name)),
                                                        key=lambda e: e.design.lab)}
# what one command may take before the test stops it: a cold start boots the VM and the lab (TCG, 2 cores)
START_LIMIT_S = 600
CHECK_LIMIT_S = 900  # `check --wait`: every check's design-derived deadline, plus its commands


def _verdicts(output: str) -> list[str]:
    """PASS/FAIL/???? of each check, in the exercise's order, from `labkit workshop check`'s output."""
    return [line.split()[0] for line in output.splitlines() if line[:4] in ("PASS", "FAIL", "????")]


def _intended_failure(labkit, exercise: Exercise) -> None:
    """Quick checks, repeated until the controls pass (the lab converged) within the design's BGP deadline: then
    the checks that fail at the start must fail, with the exercise's own text."""
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


@pytest.mark.parametrize("design_lab", sorted(BY_DESIGN))
def test_every_exercise_fails_at_start_passes_with_its_solution_and_resets(design_lab: str, tmp_path: Path, labkit):
    check_prerequisites()
    lab = f"{design_lab}-{STUDENT}"
    try:
        for exercise in BY_DESIGN[design_lab]:
            started = labkit("workshop", "start", exercise.name, "--student", STUDENT, timeout=START_LIMIT_S)
            assert started.returncode == 0, started.stderr[-3000:]
            _intended_failure(labkit, exercise)
            applied = labkit("workshop", "solution", "--apply", "--student", STUDENT, timeout=300)
            assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-3000:]
            solved = labkit("workshop", "check", "--wait", "--student", STUDENT, timeout=CHECK_LIMIT_S)
            assert solved.returncode == 0, f"{exercise.name} with its solution:\n{solved.stdout}"
            began = time.monotonic()
            reset = labkit("workshop", "reset", "--student", STUDENT, timeout=START_LIMIT_S)
            took = time.monotonic() - began
            limit = RESET_LIMIT_S + (BGP(exercise.design) if exercise.converge else 0)
            assert reset.returncode == 0 and took < limit, f"{exercise.name}: reset took {took:.0f}s (limit {limit})"
            _intended_failure(labkit, exercise)
    finally:
        labkit("workshop", "stop", "--student", STUDENT)
    assert leftovers(lab) == []
