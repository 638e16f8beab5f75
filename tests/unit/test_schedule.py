"""The suite scheduler: independent checks overlap, a story keeps its order, a failed need blocks its
dependants at once instead of letting them wait out their deadlines, `alone` checks run by themselves, and a
check that follows others starts once they ended, however.
The probes are plain functions timed by a clock; no lab is involved because what is tested is the order."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from labkit.design import load_design
from labkit.verify.collect import Collector, Evidence
from labkit.verify.connect import Sessions
from labkit.verify.engine import Check, CheckFailed, Context
from labkit.verify.report import Report
from labkit.verify.schedule import after, chain, run_suite, validate
from labkit.verify.suites import suite_for
from tests.conftest import TOPOLOGIES


class Log:
    """When each probe started and ended, and how many ran at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spans: dict[str, tuple[float, float]] = {}
        self.now = 0
        self.most = 0

    def probe(self, name: str, seconds: float = 0.3, fails: bool = False):
        def run(ctx: Context) -> str:
            with self.lock:
                self.now += 1
                self.most = max(self.most, self.now)
            started = time.monotonic()
            time.sleep(seconds)
            with self.lock:
                self.now -= 1
                self.spans[name] = (started, time.monotonic())
            if fails:
                raise CheckFailed(f"{name} is broken")
            return name

        return run


def check(log: Log, name: str, fails: bool = False, **kw) -> Check:
    return Check(name, name, ("n",), log.probe(name, fails=fails), deadline_s=kw.pop("deadline_s", 0), **kw)


def collector(tmp_path: Path) -> Collector:
    return Collector(Sessions(lambda node, name: None), {}, Evidence(tmp_path, ()))


def run(checks: list[Check], tmp_path: Path) -> dict[str, str]:
    return {r.id: r.status for r in run_suite(checks, collector(tmp_path), lambda r: None)}


def test_independent_checks_overlap_and_a_chain_keeps_its_order(tmp_path: Path):
    log = Log()
    base = [check(log, "a"), check(log, "b"), check(log, "c")]
    story = after(base, *chain(check(log, "s1"), check(log, "s2")))
    started = time.monotonic()
    assert set(run([*base, *story], tmp_path).values()) == {"pass"}
    assert log.most == 3  # a, b and c together
    assert time.monotonic() - started < 5 * 0.3  # not one after the other
    assert log.spans["s1"][0] >= max(log.spans[x][1] for x in "abc")
    assert log.spans["s2"][0] >= log.spans["s1"][1]


def test_a_failed_need_blocks_its_dependants_at_once_and_nothing_else(tmp_path: Path):
    log = Log()
    broken = Check("broken", "broken", ("n",), log.probe("broken", fails=True), deadline_s=1.5, retry_every_s=0.2)
    waits = Check("waits", "would wait its deadline", ("n",), log.probe("waits", fails=True), deadline_s=60)
    other = check(log, "other")
    started = time.monotonic()
    results = run_suite([broken, other, *after([broken], *chain(waits, check(log, "later")))], collector(tmp_path),
                        lambda r: None)
    assert time.monotonic() - started < 10
    status = {r.id: (r.status, r.reason) for r in results}
    assert status["broken"][0] == "fail" and status["other"][0] == "pass"
    assert status["waits"] == ("blocked", "not run: it needs broken (fail)")
    assert status["later"] == ("blocked", "not run: it needs waits (blocked), broken (fail)")
    assert "waits" not in log.spans  # never started
    report = Report("lab", "s", "t", "now", 1.0, {}, results)
    assert not report.all_passed and report.as_json()["summary"]["blocked"] == 2
    assert 'skipped="2"' in report.junit() and "BLOCK" in report.table()


def test_an_alone_check_runs_by_itself_between_what_comes_before_and_after(tmp_path: Path):
    log = Log()
    checks = [check(log, "a"), check(log, "b"), check(log, "fault", alone=True), check(log, "c"), check(log, "d")]
    assert set(run(checks, tmp_path).values()) == {"pass"}
    fault = log.spans["fault"]
    assert all(log.spans[x][1] <= fault[0] for x in "ab")
    assert all(log.spans[x][0] >= fault[1] for x in "cd")
    assert log.spans["c"][0] < log.spans["d"][1]  # c and d overlap again


def test_a_check_that_follows_others_starts_once_they_ended_even_failed(tmp_path: Path):
    log = Log()
    proof, slow = check(log, "proof", fails=True), check(log, "slow")
    restore = check(log, "restore", follows=("proof", "slow"))
    assert run([proof, slow, restore], tmp_path) == {"proof": "fail", "slow": "pass", "restore": "pass"}
    assert log.spans["restore"][0] >= max(log.spans[x][1] for x in ("proof", "slow"))
    with pytest.raises(ValueError, match="early needs later, which is not an earlier check"):
        validate([check(log, "early", follows=("later",)), check(log, "later")])


def test_a_skipped_need_does_not_block(tmp_path: Path):
    from labkit.verify.collect import Unsupported

    def unsupported(ctx: Context) -> str:
        raise Unsupported("not on this router")

    log = Log()
    skipped = Check("lab_only", "lab only", ("n",), unsupported, deadline_s=0)
    assert run([skipped, *after([skipped], check(log, "next"))], tmp_path) == {"lab_only": "skip", "next": "pass"}


def test_needs_must_name_earlier_checks():
    log = Log()
    with pytest.raises(ValueError, match="b needs a, which is not an earlier check"):
        validate([Check("b", "b", (), log.probe("b"), needs=("a",)), check(log, "a")])
    with pytest.raises(ValueError, match="two checks have the id a"):
        validate([check(log, "a"), check(log, "a")])


@pytest.mark.parametrize("design_file", sorted(TOPOLOGIES.glob("*.yml")), ids=lambda p: p.stem)
def test_every_suite_is_well_formed_and_fault_cases_run_alone(design_file: Path):
    checks = suite_for(load_design(design_file))
    validate(checks)
    base = {c.id for c in checks if c.converge}
    for c in checks:
        if not c.converge and not c.id.endswith("after_takeover") and c.id != "cluster.vrrp":
            assert c.needs, f"{c.id} needs nothing: it would start before the lab is established"
        if c.probe.__qualname__.startswith("failover_case."):  # a measured fault case
            assert c.alone, c.id
    assert base


def test_without_blocking_needs_only_order(tmp_path: Path):
    log = Log()
    first = check(log, "first", fails=True)
    results = run_suite([first, *after([first], check(log, "second"))], collector(tmp_path), lambda r: None,
                        block=False)
    assert [r.status for r in results] == ["fail", "pass"]
    assert log.spans["second"][0] >= log.spans["first"][1]
