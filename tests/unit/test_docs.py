"""The docs: the generated reference pages are what `labkit docs` writes now, the measured figures carry their date
and machine, and every command's --help says what it does with one example."""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit import cli
from labkit.docs import MEASURED, RECORDED, figures_page, pages, snapshot

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


@pytest.mark.parametrize("rel", sorted(pages(DOCS, ROOT / "topologies", ROOT / "workshop")))
def test_generated_pages_are_what_labkit_docs_writes_now(rel: str):
    text = pages(DOCS, ROOT / "topologies", ROOT / "workshop")[rel]
    assert (DOCS / rel).read_text(encoding="utf-8") == text, (
        f"docs/{rel} differs from what the designs, the code and docs/data/ give now: run `labkit docs` and commit it")


def test_the_snapshot_copies_measured_json_with_where_it_came_from(tmp_path: Path, monkeypatch):
    reports, build = tmp_path / "reports", tmp_path / "build"
    (build / "bench").mkdir(parents=True)
    reports.mkdir()
    table = json.loads((DOCS / MEASURED / "make-test-times.json").read_text())
    (reports / "make-test-times.json").write_text(json.dumps(table))
    (build / "bench" / "together-dmvpn-edge.json").write_text(json.dumps(
        {"design": "topologies/edge.yml", "times_file": "reports/make-test-times.json", "alone_runs": 1, "cases": [],
         "measured_at": "2026-12-08T10:00:00+0000", "machine": "ci: 2 cores"}))
    monkeypatch.setenv("LABKIT_REPORTS_DIR", str(reports))
    monkeypatch.setenv("LABKIT_BUILD_DIR", str(build))
    docs = tmp_path / "docs"
    (docs / RECORDED).parent.mkdir(parents=True)
    shutil.copy(DOCS / RECORDED, docs / RECORDED)

    copied = snapshot(docs)

    assert sorted(p.name for p in copied) == ["make-test-times.json", "together-dmvpn-edge.json"]
    page = figures_page(docs)
    assert f"from `{build}/bench/together-dmvpn-edge.json`" in page
    assert "Measured 2026-12-08T10:00:00+0000 on ci: 2 cores" in page
    assert "`failover.hub_fail` | scenario_labs[failover] | 800 | 1500 | 1.7" in page


def test_without_measured_json_the_page_says_how_to_get_some(tmp_path: Path):
    (tmp_path / RECORDED).parent.mkdir(parents=True)
    shutil.copy(DOCS / RECORDED, tmp_path / RECORDED)
    page = figures_page(tmp_path)
    assert "No measured JSON is in `docs/data/measured/`" in page and "`labkit docs --measured`" in page
    assert "## Recorded by hand" in page


def _commands(parser: argparse.ArgumentParser, prefix: str = "labkit") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every command and sub-command parser, by its name as typed."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix} {name}", sub
                yield from _commands(sub, f"{prefix} {name}")


@pytest.mark.parametrize("command", [name for name, _ in _commands(cli.parser())])
def test_every_command_says_what_it_does_with_an_example_that_parses(command: str):
    sub = dict(_commands(cli.parser()))[command]
    text = sub.format_help()
    assert sub.description, f"`{command} --help` does not say what it does"
    examples = re.findall(r"^example: (labkit .*)$", text, re.MULTILINE)
    assert len(examples) == 1, f"`{command} --help` gives no example (`example: labkit ...` as its epilog)"
    assert examples[0].startswith(command), f"`{command} --help`'s example is of another command: {examples[0]}"
    cli.parser().parse_args(shlex.split(examples[0])[1:])  # exits 2 if the example does not parse


def test_labkit_help_lists_the_commands_in_the_order_a_new_user_needs_them():
    text = cli.parser().format_help()
    listed = re.findall(r"^    ([a-z]+)\b", text, re.MULTILINE)
    assert "example: labkit run topologies/phase3.yml" in text
    assert listed[:8] == ["generate", "run", "up", "verify", "status", "shell", "exec", "down"]
    assert listed == list(cli.EXAMPLES)
