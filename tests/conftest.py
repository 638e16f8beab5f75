"""Shared test settings: repository paths and where containerlab's schema lives."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from labkit.machine import stamp
from tests.lanes import expected, lanes

ROOT = Path(__file__).resolve().parent.parent
TOPOLOGIES = ROOT / "topologies"
FIXTURES = ROOT / "tests" / "fixtures"
GOLDEN = ROOT / "tests" / "golden"
# every committed design, and the designs the tests keep as files
DESIGNS = sorted(TOPOLOGIES.glob("*.yml")) + sorted((ROOT / "tests" / "integration" / "shapes").glob("*.yml"))
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
FAILURES = ROOT / "reports" / "make-test-failures.jsonl"  # each failed lab test's reason, in short
REASON_LINES, REASON_CHARS = 8, 1200


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


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """A failed lab test's reason in short, kept for the end of `make test`'s output: CI shows only its head and
    tail, and the node state a failure prints can push the assertion out of both."""
    if not report.failed or "lab" not in report.keywords or os.environ.get("PYTEST_XDIST_WORKER"):
        return  # a worker of pytest-xdist: its controller records it
    crash = getattr(report.longrepr, "reprcrash", None)
    message = crash.message if crash is not None else str(report.longrepr)
    lines = message.splitlines()
    kept = lines[:1] + [line for line in lines[1:] if line.lstrip().startswith(("FAIL", "E "))]
    reason = "\n".join(kept[:REASON_LINES])[:REASON_CHARS]
    FAILURES.parent.mkdir(parents=True, exist_ok=True)
    with FAILURES.open("a") as out:
        out.write(json.dumps({"time": time.time(), "test": report.nodeid, "when": report.when, "reason": reason})
                  + "\n")


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """After the lab tests: one table, per lab test (each scenario, each course group), of its wall time, the time
    its labs waited for other labs' heavy steps, the bursts and windows they held, and their CPU time; the same as
    JSON in reports/make-test-times.json. Last, every lab test that failed, in short."""
    started = config.stash.get(STARTED, None)
    if started is None or hasattr(config, "workerinput"):  # a worker of pytest-xdist: the controller tells
        return
    started = float(os.environ.get("LABKIT_TABLE_SINCE") or started)  # make test: since its first lab test began
    records = sorted((r for r in _records() if r["end"] >= started), key=lambda r: -r["wall_s"])
    if records:
        _table(records, round(time.time() - started, 1), terminalreporter.write_line)
    _failures_since(started, terminalreporter.write_line)


def _table(records: list[dict], wall: float, write) -> None:
    """The table of where the time went, printed and written to TIMES_TABLE."""
    totals = {key: round(sum(r[key] for r in records), 1) for key in ("wall_s", "waited_s", "cpu_s", "bursts_s",
                                                                      "windows_s")}
    write("")
    write(f"where the lab tests' time went ({len(records)} tests, {wall:.0f} s of wall time in all):")
    write(f"{'test':<64} {'wall s':>7} {'waited s':>8} {'cpu s':>7} {'bursts s':>8} {'windows s':>9}")
    for r in records:
        name = _short(r["test"])[:64]
        write(f"{name:<64} {r['wall_s']:>7.0f} {r['waited_s']:>8.0f} {r['cpu_s']:>7.0f} {r['bursts_s']:>8.0f} "
              f"{r['windows_s']:>9.0f}")
    write(f"{'sum':<64} {totals['wall_s']:>7.0f} {totals['waited_s']:>8.0f} {totals['cpu_s']:>7.0f} "
          f"{totals['bursts_s']:>8.0f} {totals['windows_s']:>9.0f}")
    TIMES_TABLE.write_text(json.dumps({"wall_s": wall, "totals": totals, "tests": records} | stamp(), indent=2) + "\n")
    write(f"(the same in {TIMES_TABLE.relative_to(ROOT)})")


def _failures_since(started: float, write) -> None:
    """Every lab test that failed since `started` (in this run or the lanes before it), with its reason in short."""
    try:
        failed = [json.loads(line) for line in FAILURES.read_text().splitlines()]
    except (OSError, ValueError):
        return
    failed = [f for f in failed if f["time"] >= started]
    if failed:
        write("")
        write(f"lab tests that failed ({len(failed)}; their whole output is above):")
    for f in failed:
        write(f"FAILED {_short(f['test'])} ({f['when']}): {f['reason']}")


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
