"""Nothing waits forever: session commands, agent requests, checks and a hung target are all bounded.

The "nodes" here are real processes on a real pty driven by scrapli, as lab nodes are: one that prints a
prompt and then never answers again (a node inside a frozen VM looks exactly like that from the host).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path

import pytest

from labkit.errors import LabkitError
from labkit.runtime.executor import AgentExecutor
from labkit.runtime.watchdog import Watchdog
from labkit.verify import engine
from labkit.verify.collect import Collector, Evidence
from labkit.verify.connect import KILL_MARGIN_S, Session, SessionLost, Sessions, TargetDown
from labkit.verify.engine import Check, Context, run_check

# prints a shell-like prompt, then ignores everything it is sent and every polite signal
STUCK_NODE = ["sh", "-c", "trap '' HUP INT TERM; printf 'stuck# '; exec sleep 600"]


def stuck_sessions() -> Sessions:
    return Sessions(lambda node, name: Session(node, lambda: STUCK_NODE, shell=True))


def test_a_command_on_an_unresponsive_node_ends_by_its_timeout():
    session = Session("stuck", lambda: STUCK_NODE, shell=True)
    started = time.monotonic()
    with pytest.raises(SessionLost, match=r"stuck: no answer to `ip route` within 2s|session lost"):
        session.send("ip route", timeout=2)
    assert time.monotonic() - started < 2 + KILL_MARGIN_S + 3
    session.close()


def test_a_session_that_ends_at_once_says_what_it_printed():
    """Seen in CI: sessions to two nodes ended at open for minutes ("EOF reading from transport") and nothing said
    why; what the attach command printed before it ended is now in the reason."""
    ended = ["sh", "-c", "echo 'nsenter: cannot open /proc/4242/ns/net: No such file or directory'; exit 1"]
    session = Session("gone", lambda: ended, shell=True)
    with pytest.raises(SessionLost, match=r"it printed last: .*nsenter: cannot open /proc/4242/ns/net"):
        session.send("ip route", timeout=5)
    session.close()


# answers each line it reads (the return scrapli sends as it opens a session among them) with an output, then its
# prompt twice on one line, as a shell does that reads a line typed ahead of its first prompt
DOUBLED_PROMPT_NODE = ["sh", "-c", "printf 'n1# '; while read -r line; do echo out; echo labkit-rc=0; "
                       "printf 'n1# n1# '; done"]


def test_a_prompt_printed_twice_on_one_line_ends_the_command():
    """Seen in CI: `hub1# hub1# ` after a complete output, read as no prompt until the command's timeout."""
    session = Session("n1", lambda: DOUBLED_PROMPT_NODE, shell=True)
    assert "out" in session.send("ip route", timeout=5)
    assert "out" in session.send("ip link", timeout=5)
    session.close()


def test_abort_ends_a_command_in_flight_at_once():
    sessions = stuck_sessions()
    session = sessions.get("stuck", "shell")
    threading.Timer(1.5, sessions.abort, ("the lab's VM stopped responding: test",)).start()
    started = time.monotonic()
    with pytest.raises(TargetDown, match="stopped responding"):
        session.send("ip route", timeout=60)
    assert time.monotonic() - started < 5
    with pytest.raises(TargetDown):  # and every later session
        sessions.get("other", "shell")


def _collector(tmp_path: Path) -> Collector:
    return Collector(stuck_sessions(), {"stuck": "frr-lab"}, Evidence(tmp_path / "evidence", ()))


def test_a_check_on_an_unresponsive_node_fails_within_its_deadline(tmp_path: Path):
    check = Check("t.stuck", "a fact from a stuck node", ("stuck",),
                  lambda ctx: str(ctx.fact("stuck", "nhrp_cache", timeout=1)), deadline_s=3, retry_every_s=1)
    started = time.monotonic()
    result = run_check(check, _collector(tmp_path))
    assert result.status == "fail" and "`show ip nhrp cache`" in result.reason
    assert time.monotonic() - started < check.deadline_s + 1 + KILL_MARGIN_S + 3


def test_a_probe_that_never_returns_is_abandoned(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(engine, "DEFAULT_COMMAND_S", 1.0)
    never = threading.Event()
    check = Check("t.forever", "a probe that never returns", ("stuck",), lambda ctx: never.wait(), deadline_s=1)
    started = time.monotonic()
    result = run_check(check, _collector(tmp_path))
    assert result.status == "fail" and "abandoned" in result.reason
    assert time.monotonic() - started < 1 + 1 + KILL_MARGIN_S + 2
    never.set()


def test_each_gives_up_on_probes_past_the_attempts_end(tmp_path: Path):
    ctx = Context(_collector(tmp_path), until=time.monotonic() + 1)
    release = threading.Event()
    started = time.monotonic()
    with pytest.raises(engine.CheckFailed, match="1 of 2 probes had not answered"):
        ctx.each([0.0, 600.0], lambda seconds: release.wait(seconds) and None)
    assert time.monotonic() - started < 1 + KILL_MARGIN_S + 2
    release.set()


def test_a_check_that_waits_for_its_turn_before_every_attempt_still_ends(tmp_path: Path, monkeypatch):
    """Waiting for a turn on a shared machine moves a check's end back, but only up to PUSHBACK_LIMIT_S in all."""
    monkeypatch.setattr(engine, "PUSHBACK_LIMIT_S", 2.0)

    def probe(ctx: Context) -> str:
        time.sleep(0.5)  # queued behind other labs' windows...
        ctx.pushed_back(0.5)  # ...as the scheduler tells, while it waits
        raise engine.CheckFailed("still failing")

    check = Check("t.queued", "a failing check queued before every attempt", ("stuck",), probe, deadline_s=1,
                  retry_every_s=0.1)
    started = time.monotonic()
    result = run_check(check, _collector(tmp_path))
    assert result.status == "fail" and "still failing" in result.reason
    assert time.monotonic() - started < 1 + 2 + 1.5  # its deadline, the push-back allowed, one attempt more


def test_facts_waiting_side_by_side_push_the_attempt_back_once(tmp_path: Path, monkeypatch):
    """A capture and the traffic it awaits, each queued for the same 30 s, moved the attempt's end back 30 s, not
    60: summed, a failing quick check kept its attempts going for minutes."""
    now = [100.0]
    monkeypatch.setattr(engine.time, "monotonic", lambda: now[0])
    ctx = Context(_collector(tmp_path), until=110.0)
    for _ in range(30):  # both requests are told each second they wait, as the scheduler's tellers do
        now[0] += 1
        ctx.pushed_back(1.0)
        ctx.pushed_back(1.0)
    assert ctx.waited == 30 and ctx.until == 140
    now[0] += 5  # a wait of its own afterwards counts in full
    ctx.pushed_back(5.0)
    assert ctx.waited == 35


class FlakyRuntime:
    """Stands in for a runtime whose VM answers, then stops answering."""

    def __init__(self, answers: int):
        self.answers = answers

    def heartbeat(self) -> str | None:
        self.answers -= 1
        return None if self.answers >= 0 else "its agent did not answer a ping within 5s"


def test_watchdog_declares_a_hang_once_after_the_grace_time():
    calls: list[str] = []
    started = time.monotonic()
    with Watchdog(FlakyRuntime(answers=2), calls.append, every_s=0.05, hung_after_s=0.3) as dog:
        while not calls and time.monotonic() - started < 5:
            time.sleep(0.05)
        time.sleep(0.3)
    assert len(calls) == 1 and calls[0] == dog.reason
    assert calls[0].startswith("the lab's VM stopped responding: its agent did not answer")
    assert 0.3 <= time.monotonic() - started < 5


def test_a_hung_target_fails_the_running_check_with_that_reason(tmp_path: Path):
    collector = _collector(tmp_path)
    check = Check("t.vm", "a fact while the VM hangs", ("stuck",),
                  lambda ctx: str(ctx.fact("stuck", "nhrp_cache", timeout=50)), deadline_s=50)
    started = time.monotonic()
    with Watchdog(FlakyRuntime(answers=1), collector.mark_down, every_s=0.1, hung_after_s=0.5):
        result = run_check(check, collector)
    assert result.status == "fail" and result.reason.startswith("the lab's VM stopped responding")
    assert result.attempts == 1 and time.monotonic() - started < 10
    later = run_check(check, collector)  # every later check fails at once with the same reason
    assert later.status == "fail" and later.duration_s < 1 and "stopped responding" in later.reason


@pytest.fixture
def silent_server():
    """A TCP server that accepts and then drips a byte now and then, never a whole reply line."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        conns = []
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                conns.append(server.accept()[0])
            for conn in conns:
                with contextlib.suppress(OSError):
                    conn.send(b"x")
        for conn in conns:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    server.close()


def test_an_agent_request_is_bounded_in_all(silent_server: int):
    started = time.monotonic()
    with pytest.raises(LabkitError, match=r"closed the connection|does not answer"):
        AgentExecutor(silent_server).request({"op": "ping"}, timeout=1.5)
    assert time.monotonic() - started < 3


def test_abandon_ends_an_agent_request_in_flight(silent_server: int):
    agent = AgentExecutor(silent_server)
    threading.Timer(0.5, agent.abandon, ("the lab's VM stopped responding: test",)).start()
    started = time.monotonic()
    with pytest.raises(LabkitError, match="stopped responding"):
        agent.request({"op": "ping"}, timeout=60)
    assert time.monotonic() - started < 3
    with pytest.raises(LabkitError, match="stopped responding"):
        agent.request({"op": "ping"}, timeout=60)


def test_abort_is_not_held_up_by_a_session_opening_on_a_silent_agent(silent_server: int):
    """Seen in CI: opening a lab session asks the agent where the node's init runs; with the VM frozen that ask
    waited its 35 s while holding the lock abort needs, once per session in turn (a frozen lab's verify: 175 s)."""
    agent = AgentExecutor(silent_server)

    def open_cmd() -> list[str]:
        agent.request({"op": "run", "argv": ["cat", "init.pid"]}, timeout=60)
        return STUCK_NODE

    sessions = Sessions(lambda node, name: Session(node, open_cmd, shell=True))
    reason = "the lab's VM stopped responding: test"
    aborted = threading.Event()

    def down() -> None:  # what the watchdog does (verify.run.verify_lab's lab_down)
        agent.abandon(reason)
        sessions.abort(reason)
        aborted.set()

    threading.Timer(1.0, down).start()
    started = time.monotonic()
    with pytest.raises((TargetDown, LabkitError), match="stopped responding"):
        sessions.get("hub1", "vtysh").send("show ip nhrp cache", timeout=60)
    assert aborted.wait(3) and time.monotonic() - started < 4


def test_an_unexpected_error_in_one_of_each_probes_is_never_a_pass(tmp_path: Path):
    """`each` used to drop what its workers raised besides check failures: a node whose VM did not answer passed."""

    def probe(ctx: Context) -> str:
        def one(node: str) -> None:
            if node == "b":
                raise LabkitError("the lab's microVM does not answer on 127.0.0.1:1 (timed out)")

        ctx.each(["a", "b"], one)
        return "both answered"

    result = run_check(Check("t.each", "every node answers", ("a", "b"), probe, deadline_s=0), _collector(tmp_path))
    assert result.status == "error" and "does not answer" in result.reason


def test_a_check_ended_by_a_target_that_went_down_fails_with_its_reason(tmp_path: Path):
    collector = _collector(tmp_path)

    def probe(ctx: Context) -> str:
        collector.mark_down("the lab's VM stopped responding: its agent did not answer a ping within 5s, for 30s")
        raise LabkitError("the lab's microVM does not answer on 127.0.0.1:1 (timed out)")

    result = run_check(Check("t.down", "a fact", ("stuck",), probe, deadline_s=5), collector)
    assert result.status == "fail" and result.reason.startswith("the lab's VM stopped responding")
