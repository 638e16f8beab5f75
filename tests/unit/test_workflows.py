"""GitHub Actions workflows: valid YAML, `make` targets that exist, a lab job for every scenario."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
SCENARIOS = {p.stem for p in (ROOT / "topologies").glob("*.yml")}


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return {m.group(1) for m in re.finditer(r"^([A-Za-z][\w.%-]*):", text, re.MULTILINE)}


def run_steps(workflow: dict):
    for name, job in workflow["jobs"].items():
        matrix = job.get("strategy", {}).get("matrix", {})
        for step in job.get("steps", []):
            if "run" in step:
                yield name, matrix, step["run"]


def expand(command: str, matrix: dict) -> list[str]:
    """The command once per value of each `${{ matrix.X }}` it uses."""
    used = re.findall(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", command)
    if not used:
        return [command]
    key = used[0]
    out = []
    for value in matrix[key]:
        out += expand(re.sub(r"\$\{\{\s*matrix\." + key + r"\s*\}\}", str(value), command), matrix)
    return out


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_valid_and_calls_existing_targets(path: Path):
    workflow = yaml.safe_load(path.read_text())
    assert isinstance(workflow, dict) and workflow.get("jobs"), f"{path.name}: no jobs"
    assert True in workflow or "on" in workflow, f"{path.name}: no trigger (`on:`)"
    targets = make_targets()
    for job, matrix, command in run_steps(workflow):
        for concrete in expand(command, matrix):
            for target in re.findall(r"(?:^|&&|;|sudo -E|sudo)\s*make\s+([a-z][\w-]*)", concrete, re.MULTILINE):
                pattern_ok = target.startswith("lab-") and "lab-%" in targets and target[4:] in SCENARIOS | {"all"}
                assert target in targets or pattern_ok, f"{path.name} job {job}: `make {target}` has no Makefile target"


def test_every_scenario_has_a_containerlab_job():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    matrix = workflow["jobs"]["lab-clab"]["strategy"]["matrix"]["scenario"]
    assert set(matrix) == SCENARIOS
