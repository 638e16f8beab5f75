"""Shared test settings: repository paths and where containerlab's schema lives."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.lanes import expected, lanes

ROOT = Path(__file__).resolve().parent.parent
TOPOLOGIES = ROOT / "topologies"
FIXTURES = ROOT / "tests" / "fixtures"
GOLDEN = ROOT / "tests" / "golden"
# containerlab's own topology schema; always present beside the project in CI, never copied into it
SCHEMA_DIR = Path(os.environ.get("LABKIT_SCHEMA_DIR", ROOT.parent / "shared" / "schemas"))
STARTED = pytest.StashKey[float]()


@pytest.fixture
def write_design(tmp_path: Path):
    """Write a design file from text and return its path."""

    def write(text: str, name: str = "design.yml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


TIMES = ROOT / "reports" / "make-test"  # where each lab test's time went (tests/integration/conftest.py)
TIMES_TABLE = ROOT / "reports" / "make-test-times.json"


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[STARTED] = time.time()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under `-n N --dist loadgroup` (make test), the lab tests in N lanes of about equal length (tests/lanes.py),
    the longest first in each."""
    # a pytest-xdist worker is told the number of workers; the controller has it as -n
    workers = getattr(config, "workerinput", {}).get("workercount") or config.getoption("numprocesses", default=None)
    labs = [item for item in items if item.get_closest_marker("lab")]
    if not workers or not labs:
        return
    seconds = expected([item.nodeid for item in labs], TIMES_TABLE)
    lane = lanes(seconds, int(workers))
    for item in labs:
        item.add_marker(pytest.mark.xdist_group(f"lane{lane[item.nodeid]}"))
    items.sort(key=lambda item: -seconds.get(item.nodeid, 0))  # stable: unit tests keep their order


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """After the lab tests: one table, per lab test (each scenario, each course group), of its wall time, the time
    its labs waited for other labs' heavy steps, the bursts and windows they held, and their CPU time; the same as
    JSON in reports/make-test-times.json."""
    started = config.stash.get(STARTED, None)
    if started is None or hasattr(config, "workerinput"):  # a worker of pytest-xdist: the controller tells
        return
    started = float(os.environ.get("LABKIT_TABLE_SINCE") or started)  # make test: since its first lab test began
    records = sorted((r for r in _records() if r["end"] >= started), key=lambda r: -r["wall_s"])
    if not records:
        return
    wall = round(time.time() - started, 1)
    totals = {key: round(sum(r[key] for r in records), 1) for key in ("wall_s", "waited_s", "cpu_s", "bursts_s",
                                                                      "windows_s")}
    write = terminalreporter.write_line
    write("")
    write(f"where the lab tests' time went ({len(records)} tests, {wall:.0f} s of wall time in all):")
    write(f"{'test':<64} {'wall s':>7} {'waited s':>8} {'cpu s':>7} {'bursts s':>8} {'windows s':>9}")
    for r in records:
        name = _short(r["test"])[:64]
        write(f"{name:<64} {r['wall_s']:>7.0f} {r['waited_s']:>8.0f} {r['cpu_s']:>7.0f} {r['bursts_s']:>8.0f} "
              f"{r['windows_s']:>9.0f}")
    write(f"{'sum':<64} {totals['wall_s']:>7.0f} {totals['waited_s']:>8.0f} {totals['cpu_s']:>7.0f} "
          f"{totals['bursts_s']:>8.0f} {totals['windows_s']:>9.0f}")
    TIMES_TABLE.write_text(json.dumps({"wall_s": wall, "totals": totals, "tests": records}, indent=2) + "\n")
    write(f"(the same in {TIMES_TABLE.relative_to(ROOT)})")


def _short(test: str) -> str:
    """A test's name for the table: a parametrized one as its module and parameter (workshop[dmvpn-phase3-2])."""
    module, _, name = test.partition("::")
    if "[" in name:
        return f"{module.rsplit('/', 1)[-1].removeprefix('test_').removesuffix('.py')}[{name.split('[', 1)[1]}"
    return name


def _records() -> list[dict]:
    found = []
    for path in TIMES.glob("*.json"):
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return found
