"""The measured-case harness offline, with a scripted collector: the case runs in a measured window, a case whose
window only bounds its recovery ends its probes a settling time after it recovered (the packets still in flight not
counted as lost), and one that never recovered probes its whole window."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from labkit.design import load_design
from labkit.verify import deadlines
from labkit.verify.checks import failover
from labkit.verify.checks.failover import Case, Fault, Probe
from labkit.verify.collect import Evidence
from labkit.verify.engine import CheckFailed, run_check
from labkit.verify.state import ProbeResult
from tests.conftest import TOPOLOGIES

DESIGN = load_design(TOPOLOGIES / "failover.yml")
SPOKE = DESIGN.spokes[0]
PROBE = Probe("spoke1-hq", SPOKE, DESIGN.hq_lan.ip)


class Script:
    """A collector whose probe answers every packet but `lost`, and that notes what was done, in order."""

    def __init__(self, tmp_path: Path, sent: int, lost: set[int]):
        self.evidence = Evidence(tmp_path, ())
        self.down = None
        self.done: list[str] = []
        self.sent, self.lost = sent, lost
        self.load = self

    @contextlib.contextmanager
    def window(self, what: str, waited):
        self.done.append(f"window {what}")
        yield
        self.done.append("window ends")

    def run(self, node: str, fact: str, sink: list, timeout=None, waited=None, **params) -> list:
        self.done.append(fact)
        if fact == "probe_result":
            return [ProbeResult(self.sent, tuple(s for s in range(1, self.sent + 1) if s not in self.lost))]
        return []

    def inject(self, node: str, fault: str, sink: list, step: str = "apply", waited=None, **params) -> None:
        self.done.append(f"{step} {fault}")


def _case(recovered, settle: bool) -> Case:
    return Case("failover.test", "a test case", (Fault("hub1", "node_start"),), recovered, (PROBE,),
                seconds=deadlines.HUB_RETURN(DESIGN), settle=settle)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(failover.time, "sleep", lambda seconds: None)


def test_a_recovered_case_ends_its_probes_after_settling_in_its_window(tmp_path: Path):
    script = Script(tmp_path, sent=300, lost={10, 11, 12, 299, 300})  # the last two were in flight at the stop
    result = run_check(failover.failover_case(DESIGN, _case(lambda ctx: "back", settle=True)), script)
    assert result.status == "pass", result.reason
    assert script.done == ["window failover.test", "probe_start", "apply node_start", "probe_stop", "probe_result",
                           "window ends"]
    assert result.measurements["loss_ms"] == 3 * DESIGN.failover.probe_interval_ms
    assert result.measurements["settle_s"] == deadlines.SETTLE(DESIGN)


def test_a_case_watched_for_its_whole_window_is_not_stopped_early(tmp_path: Path):
    script = Script(tmp_path, sent=300, lost=set())
    result = run_check(failover.failover_case(DESIGN, _case(lambda ctx: "back", settle=False)), script)
    assert result.status == "pass" and "probe_stop" not in script.done and "settle_s" not in result.measurements


def test_a_case_that_never_recovers_probes_to_the_end_and_fails(tmp_path: Path, monkeypatch):
    clock = iter(range(0, 10_000, 5))
    monkeypatch.setattr(failover.time, "monotonic", lambda: float(next(clock)))

    def never(ctx) -> str:
        raise CheckFailed("hub1 not back")

    script = Script(tmp_path, sent=300, lost=set())
    result = run_check(failover.failover_case(DESIGN, _case(never, settle=True)), script)
    assert result.status == "fail" and "not recovered within" in result.reason
    assert "probe_stop" not in script.done  # the probe ran its whole window


def test_a_probe_ended_early_does_not_count_its_packets_in_flight():
    flowing = ProbeResult(100, tuple(range(1, 98)))
    assert flowing.ended_early(25).sent == 97 and flowing.ended_early(25).lost == 0
    stopped = ProbeResult(100, tuple(range(1, 51)))  # traffic stopped half way: the loss stays
    assert stopped.ended_early(25).sent == 75 and stopped.ended_early(25).lost == 25
