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
from labkit.verify.engine import CheckFailed, Context, run_check
from labkit.verify.state import BgpPeer, ProbeResult
from tests.conftest import TOPOLOGIES

DESIGN = load_design(TOPOLOGIES / "failover.yml")
SPOKE = DESIGN.spokes[0]
PROBE = Probe("spoke1-hq", SPOKE, DESIGN.hq_lan.ip)


class Script:
    """A collector whose probe answers every packet but `lost`, and that notes what was done, in order."""

    def __init__(self, tmp_path: Path, sent: int, lost: set[int], uptime_s: int = 600):
        self.evidence = Evidence(tmp_path, ())
        self.down = None
        self.done: list[str] = []
        self.sent, self.lost = sent, lost
        self.uptime_s = uptime_s  # every BGP session's, as the spokes show it
        self.load = self

    @contextlib.contextmanager
    def window(self, what: str, waited, keep: bool = False):
        self.done.append(f"window {what}")
        yield
        self.done.append("window kept" if keep else "window ends")

    def run(self, node: str, fact: str, sink: list, timeout=None, waited=None, **params) -> list:
        if fact == "bgp_peers":  # a look, not a step: kept out of `done`
            return [BgpPeer(address, DESIGN.routing.asn, "up", 1, self.uptime_s)
                    for _, address in DESIGN.bgp_neighbors(node)]
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


def test_a_case_that_leaves_its_fault_keeps_its_window_for_the_next_case(tmp_path: Path):
    """A failed hub's return is measured from the window the failure began: other labs do not lengthen the outage."""
    script = Script(tmp_path, sent=300, lost=set())
    case = Case("failover.hub_fail", "a hub fails", (Fault("hub1", "node_fail"),), lambda ctx: "on the backup",
                (PROBE,), seconds=deadlines.HUB_DOWN(DESIGN), leaves_fault=True)
    assert run_check(failover.failover_case(DESIGN, case), script).status == "pass"
    assert script.done[0] == "window failover.hub_fail" and script.done[-1] == "window kept"


def test_a_lab_whose_sessions_keep_restarting_is_not_measured(tmp_path: Path, monkeypatch):
    """Sessions younger than STEADY_S before the fault: no window, no probe, no fault; the reason names BFD."""
    now = [0.0]
    monkeypatch.setattr(failover.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(failover.time, "sleep", lambda seconds: now.__setitem__(0, now[0] + seconds))
    script = Script(tmp_path, sent=300, lost=set(), uptime_s=failover.STEADY_S - 1)
    result = run_check(failover.failover_case(DESIGN, _case(lambda ctx: "back", settle=True)), script)
    assert result.status == "fail" and script.done == []
    assert result.reason.startswith("precondition not met, no fault injected: spoke1: BGP with hub1 up 9 s, less "
                                    "than 10 s: the session restarted (BFD 300 ms x 3 ends a session whose peer")


def test_sessions_that_are_down_are_left_to_the_case(tmp_path: Path):
    """A failed hub's sessions are down before it returns: the case runs (its own precondition would judge them)."""
    script = Script(tmp_path, sent=300, lost=set())
    script.run = lambda node, fact, sink, **kw: ([BgpPeer(a, DESIGN.routing.asn, "Connect", None)
                                                  for _, a in DESIGN.bgp_neighbors(node)] if fact == "bgp_peers"
                                                 else Script.run(script, node, fact, sink, **kw))
    result = run_check(failover.failover_case(DESIGN, _case(lambda ctx: "back", settle=True)), script)
    assert result.status == "pass", result.reason
    assert script.done[0] == "window failover.test"


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


def _outage(monkeypatch, back, given_up):
    """failover.long_outage with scripted conditions for the hub being back and the spokes having given up."""
    monkeypatch.setattr(failover, "hub_back", lambda design, hub: back)
    monkeypatch.setattr(failover, "gave_up", lambda design, hub: given_up)
    return failover.long_outage(DESIGN, DESIGN.hubs[0])


def test_a_long_outage_takes_the_link_down_past_every_retry_and_times_the_return_outside_a_window(
        tmp_path: Path, monkeypatch):
    now = [0.0]  # a clock that moves as the check sleeps, and a little with each look

    def sleep(seconds: float) -> None:
        now[0] += seconds

    def monotonic() -> float:
        now[0] += 0.01
        return now[0]

    monkeypatch.setattr(failover.time, "sleep", sleep)
    monkeypatch.setattr(failover.time, "monotonic", monotonic)
    looks_after_return = iter([CheckFailed("spoke3 not registered yet")] * 2)

    def back(ctx) -> str:
        done = ctx.collector.done
        if "apply link_down" in done and "apply link_up" not in done:
            raise CheckFailed("hub1 unreachable")
        if "apply link_up" in done and (late := next(looks_after_return, None)):
            raise late
        return "hub1 back"

    script = Script(tmp_path, sent=0, lost=set())
    result = run_check(_outage(monkeypatch, back, lambda ctx: "gave up"), script)
    assert result.status == "pass", result.reason
    assert script.done == ["apply link_down", "apply link_up"]  # no measured window, no probes
    assert deadlines.LONG_OUTAGE(DESIGN) <= result.measurements["outage_s"] < deadlines.LONG_OUTAGE(DESIGN) + 1
    assert 2 * failover.LOOK_EVERY_S <= result.measurements["back_s"] < 2
    assert result.measurements["deadline_s"] == deadlines.OUTAGE_RETURN(DESIGN)


def test_a_long_outage_fails_when_a_spoke_never_gave_up_or_never_came_back_and_restores_the_link(
        tmp_path: Path, monkeypatch):
    clock = iter(range(0, 100_000, 5))
    monkeypatch.setattr(failover.time, "monotonic", lambda: float(next(clock)))

    def held(ctx) -> str:
        raise CheckFailed("spoke2 still holds an established IKE SA with hub1")

    script = Script(tmp_path, sent=0, lost=set())
    result = run_check(_outage(monkeypatch, lambda ctx: "hub1 back", held), script)
    assert result.status == "fail" and "spoke2 still holds" in result.reason
    assert script.done[-1] == "apply link_up"

    state = {"down": False}

    def back(ctx) -> str:
        if state["down"]:
            raise CheckFailed("spoke3 not registered yet")
        state["down"] = True  # the precondition held; after that the hub never serves again
        return "hub1 back"

    script = Script(tmp_path, sent=0, lost=set())
    result = run_check(_outage(monkeypatch, back, lambda ctx: "gave up"), script)
    assert result.status == "fail" and "not every spoke back with hub1" in result.reason
    assert script.done[-1] == "apply link_up" and result.measurements["back_s"] is None


def test_a_wait_leaves_out_what_its_looks_waited_for_other_labs(tmp_path: Path, monkeypatch):
    """A look held back by another lab's measured window is time the lab was not looked at: neither the limit nor
    the time measured counts it."""
    now = [0.0]
    monkeypatch.setattr(failover.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(failover.time, "sleep", lambda seconds: now.__setitem__(0, now[0] + seconds))
    looks = iter([False, True])

    def condition(ctx) -> str:
        now[0] += 50  # the look waited 50 s for another lab's window, then ran
        ctx.pushed_back(50)
        if not next(looks):
            raise CheckFailed("not yet")
        return "holds"

    ctx = Context(Script(tmp_path, sent=0, lost=set()))
    took, word = failover._wait(ctx, condition, limit_s=10)
    assert word == "holds" and took == failover.LOOK_EVERY_S
