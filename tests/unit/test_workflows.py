"""GitHub Actions workflows: valid YAML, `make` targets that exist, a lab job for every scenario."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
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
    """The command once per value of each `${{ matrix.X }}` it uses (every scenario for a computed one)."""
    used = re.findall(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", command)
    if not used:
        return [command]
    key = used[0]
    out = []
    for value in sorted(SCENARIOS) if isinstance(matrix[key], str) else matrix[key]:
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


def _ci() -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())


def test_containerlab_jobs_run_the_computed_scenarios():
    lab = _ci()["jobs"]["lab-clab"]
    assert "scenarios" in lab["needs"]
    assert lab["strategy"]["matrix"]["scenario"] == "${{ fromJSON(needs.scenarios.outputs.scenarios) }}"
    junit = next(s for s in lab["steps"] if s.get("name") == "test results")["with"]["report_paths"]
    assert junit == "reports/*/junit.xml"  # reports/<lab>/, named after the design's lab, not its file


def _run_pick_step(repo: Path, base: str, allow: str = "") -> tuple[list[str], str]:
    """Run the `scenarios` job's script in `repo` (`allow`: what a pull request labelled `readdress` passes); the
    scenarios it picks and the job summary it writes."""
    step = next(s for s in _ci()["jobs"]["scenarios"]["steps"] if s.get("id") == "pick")
    output, summary = repo / "output", repo / "summary"
    for written in (output, summary):
        written.unlink(missing_ok=True)
    env = {**os.environ, "BASE": base, "ALLOW": allow, "GITHUB_OUTPUT": str(output),
           "GITHUB_STEP_SUMMARY": str(summary)}
    subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=env, check=True, capture_output=True)
    scenarios = json.loads(output.read_text().removeprefix("scenarios="))
    return scenarios, summary.read_text() if summary.exists() else ""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                   capture_output=True)


def _pr_repo(repo: Path, change: Callable[[str], str]) -> None:
    """A repository of the designs (branch main) and a pull request's branch `pr` changing phase3.yml's text."""
    shutil.copytree(ROOT / "topologies", repo / "topologies")
    (repo / ".venv" / "bin").mkdir(parents=True)
    (repo / ".venv" / "bin" / "labkit").symlink_to(Path(sys.executable).parent / "labkit")
    (repo / ".gitignore").write_text(".venv\noutput\nsummary\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "base")
    _git(repo, "checkout", "-qb", "pr")
    design = repo / "topologies" / "phase3.yml"
    design.write_text(change(design.read_text()))
    _git(repo, "commit", "-qam", "a design change")


def test_pick_step_runs_changed_designs_and_shows_their_diff(tmp_path):
    _pr_repo(tmp_path, lambda text: text.replace("count: 3", "count: 4"))
    scenarios, summary = _run_pick_step(tmp_path, "main")
    assert scenarios == ["phase3"]
    assert "- spoke4: tunnel 10.255.0.14" in summary and "0 readdressed" in summary
    assert _run_pick_step(tmp_path, "")[0] == sorted(SCENARIOS)  # a push: every scenario
    (tmp_path / "Makefile").write_text("all:\n")
    _git(tmp_path, "add", "Makefile")
    _git(tmp_path, "commit", "-qm", "not only designs")
    assert _run_pick_step(tmp_path, "main")[0] == sorted(SCENARIOS)


def test_pick_step_blocks_a_readdressing_unless_the_pull_request_allows_it(tmp_path):
    _pr_repo(tmp_path, lambda text: text.replace("172.16.0.0/16", "172.17.0.0/16"))  # every spoke's LAN moves
    with pytest.raises(subprocess.CalledProcessError) as failed:
        _run_pick_step(tmp_path, "main")
    assert "readdresses existing routers: topologies/phase3.yml" in failed.value.stdout.decode()
    assert "error: the change readdresses 3 existing routers (spoke1, spoke2, spoke3)" in failed.value.stderr.decode()
    scenarios, summary = _run_pick_step(tmp_path, "main", allow="--allow-readdress")
    assert scenarios == ["phase3"] and "#### READDRESSED: 3 existing routers" in summary
