"""Lab tests in lanes: `make test` runs the lab tests in several pytest-xdist workers at once (`--dist loadgroup`),
each lane a group of tests of about equal length, the longest placed first (LPT). How long a test takes comes from
the last run's table (reports/make-test-times.json) where there is one, else from EXPECTED_S."""

from __future__ import annotations

import heapq
import json
from pathlib import Path

# seconds each lab test took alone on this machine kind (TCG, 2 cores), by its id after the module; a test not
# listed counts as DEFAULT_S
EXPECTED_S = {
    "test_scenario_lab_passes_its_suite[failover]": 450, "test_scenario_lab_passes_its_suite[edge]": 400,
    "test_scenario_lab_passes_its_suite[keptout]": 400, "test_scenario_lab_passes_its_suite[cluster]": 220,
    "test_scenario_lab_passes_its_suite[nat]": 170, "test_scenario_lab_passes_its_suite[mpls]": 110,
    "test_scenario_lab_passes_its_suite[scale]": 85, "test_scenario_lab_passes_its_suite[phase1]": 55,
    "test_scenario_lab_passes_its_suite[phase2]": 50, "test_phase3_lab_end_to_end": 90,
    "test_scenario_lab_passes_its_suite[dual-hub-phase2]": 150,
    "test_scenario_lab_passes_its_suite[dual-hub-phase3]": 200,
    "test_a_spoke_added_to_a_running_lab_leaves_the_hub_untouched": 140,
    "test_a_frozen_vm_fails_the_checks_with_that_reason_and_comes_down": 120,
    "test_sigterm_while_the_vm_boots_leaves_nothing": 60,
    "test_every_exercise_fails_at_start_and_passes_with_its_solution[dmvpn-phase3-1]": 520,
    "test_every_exercise_fails_at_start_and_passes_with_its_solution[dmvpn-phase3-2]": 400,
    "test_every_exercise_fails_at_start_and_passes_with_its_solution[dmvpn-phase3-3]": 400,
    "test_every_exercise_fails_at_start_and_passes_with_its_solution[dmvpn-mpls]": 300,
    "test_every_exercise_fails_at_start_and_passes_with_its_solution[dmvpn-cluster]": 200,
    "test_every_exercise_fails_at_start_and_passes_with_its_solution[dmvpn-phase1]": 170,
    "test_every_exercise_fails_at_start_and_passes_with_its_solution[dmvpn-failover]": 150,
    "test_every_exercise_fails_at_start_and_passes_with_its_solution[dmvpn-phase2]": 115,
}
DEFAULT_S = 120


def expected(test_ids: list[str], last_run: Path) -> dict[str, float]:
    """How long each test should take: the last run's wall time, else the table's."""
    try:
        measured = {r["test"].split("::", 1)[-1]: r["wall_s"] for r in json.loads(last_run.read_text())["tests"]}
    except (OSError, ValueError, KeyError):
        measured = {}
    return {t: measured.get(t.split("::", 1)[-1], EXPECTED_S.get(t.split("::", 1)[-1], DEFAULT_S)) for t in test_ids}


def lanes(seconds: dict[str, float], count: int) -> dict[str, int]:
    """Each test's lane: the longest first, each to the lane that has the least so far."""
    heap = [(0.0, lane) for lane in range(count)]
    chosen = {}
    for test in sorted(seconds, key=lambda t: (-seconds[t], t)):
        total, lane = heapq.heappop(heap)
        chosen[test] = lane
        heapq.heappush(heap, (total + seconds[test], lane))
    return chosen
