"""The docs: the generated reference pages are what `labkit docs` writes now, and the measured figures carry their
date and machine."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

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
