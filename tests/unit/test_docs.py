"""The docs: the site builds strictly, the generated reference pages and the README's picture are what labkit makes
now, every command the docs show exists, the measured figures carry their date and machine, and every command's
--help says what it does with one example."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit import cli
from labkit.design import load_design
from labkit.docs import MEASURED, RECORDED, figures_page, pages, snapshot
from labkit.render.graph import render_graph

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


def test_the_readme_picture_is_what_labkit_graph_draws_now(tmp_path: Path):
    svg, _ = render_graph(load_design(ROOT / "topologies" / "phase3.yml"), tmp_path)
    assert svg.read_text(encoding="utf-8") == (DOCS / "img" / "phase3.svg").read_text(encoding="utf-8"), (
        "docs/img/phase3.svg is not what `labkit graph topologies/phase3.yml` draws now: copy "
        "build/dmvpn-phase3/dmvpn-phase3.svg there")


def test_the_readme_fits_on_two_screens_and_its_links_lead_somewhere():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", readme):
        assert (ROOT / target).exists(), f"README.md links to {target}, which does not exist"


def _shown() -> Iterator[tuple[str, str]]:
    """Every command line the README and the docs show in code: (file, line)."""
    for path in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        blocks = re.findall(r"^```[a-z]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
        spans = re.findall(r"`([^`\n]+)`", re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL))
        for line in [*(ln for b in blocks for ln in b.splitlines()), *spans]:
            yield path.relative_to(ROOT).as_posix(), line


def test_every_command_the_docs_show_exists():
    commands = dict(_commands(cli.parser()))
    targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    scenarios = {p.stem for p in (ROOT / "topologies").glob("*.yml")} | {"all"}
    for where, line in _shown():
        for words in re.findall(r"(?:^|\$ |time |bin/|-E |&& )labkit((?: [a-z]+){1,2})", line.strip()):
            name = "labkit" + words
            assert name in commands or name.rsplit(" ", 1)[0] in commands, f"{where}: `{line}` names no command"
        for target in re.findall(r"(?:^|\s)make ([a-z][\w<>-]*)", line):
            pattern = target.startswith("lab-") and (target[4:] in scenarios or target[4:] == "<scenario>")
            known = target in targets or pattern
            assert known, f"{where}: `{line}`: make has no target {target}"


def test_the_site_builds_strictly(tmp_path: Path):
    """mkdocs build --strict: a broken link or anchor, a page left out of the nav or any warning fails it."""
    if importlib.util.find_spec("mkdocs") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("mkdocs is not installed: the docs cannot be built (pip install -e '.[dev]')")
        pytest.skip("mkdocs is not installed (pip install -e '.[dev]')")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--config-file",
                           str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")], capture_output=True,
                          text=True, env=os.environ | {"NO_MKDOCS_2_WARNING": "1"}, check=False, timeout=300)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}{done.stderr}"
