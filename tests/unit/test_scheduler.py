"""The machine-wide scheduler, with real processes holding tickets: windows alone, bursts out of windows, first come
first served, a dead holder's ticket dropped, a process's own tickets shared, and the log `make test` reads."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from labkit.runtime import scheduler
from labkit.runtime.scheduler import Scheduler, read_log, tickets

CONTEXT = multiprocessing.get_context("fork")


def _hold(folder: Path, kind: str, lab: str, started, release, cores: int | None) -> None:
    """In another process: hold a ticket of `kind` (a burst of `cores`) until told to release it."""
    with getattr(Scheduler(folder), kind)(lab, f"{kind} of {lab}", **({"cores": cores} if cores else {})):
        started.set()
        release.wait(30)


class Holder:
    """Another process holding a ticket."""

    def __init__(self, folder: Path, kind: str, lab: str, cores: int | None = None):
        self.started, self.release = CONTEXT.Event(), CONTEXT.Event()
        self.process = CONTEXT.Process(target=_hold, args=(folder, kind, lab, self.started, self.release, cores))
        self.process.start()

    def wait_started(self) -> None:
        assert self.started.wait(10), "the other process never got its ticket"

    def end(self) -> None:
        self.release.set()
        self.process.join(10)


def _granted_after(action, seconds: float = 0.6) -> bool:
    """Whether `action` (a context manager factory) is granted within `seconds`, run in a thread."""
    granted = threading.Event()
    done = threading.Event()

    def run() -> None:
        with action():
            granted.set()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return granted.wait(seconds)


def test_a_window_waits_for_another_labs_burst_and_holds_the_machine_alone(tmp_path: Path):
    other = Holder(tmp_path, "burst", "lab-b")
    other.wait_started()
    mine = Scheduler(tmp_path)
    assert not _granted_after(lambda: mine.window("lab-a", "failover.hub_fail"))
    other.end()
    end = time.monotonic() + 10
    while tickets(tmp_path) and time.monotonic() < end:
        time.sleep(0.1)
    assert tickets(tmp_path) == []  # the window was granted once the burst ended, and released
    assert [r["kind"] for r in read_log(tmp_path)] == ["burst", "window"]


def test_a_burst_waits_while_another_labs_window_runs(tmp_path: Path):
    other = Holder(tmp_path, "window", "lab-b")
    other.wait_started()
    assert not _granted_after(lambda: Scheduler(tmp_path).burst("lab-a", "bring-up"))
    other.end()


def test_a_queued_window_is_not_overtaken_by_a_later_burst(tmp_path: Path):
    running = Holder(tmp_path, "burst", "lab-b")
    running.wait_started()
    queued = Holder(tmp_path, "window", "lab-c")  # waits for lab-b's burst
    time.sleep(0.5)
    assert [(t.kind, t.state) for t in tickets(tmp_path)] == [("burst", "running"), ("window", "waiting")]
    running.end()
    queued.wait_started()
    assert not _granted_after(lambda: Scheduler(tmp_path).burst("lab-a", "reset"))
    queued.end()


def test_one_core_bursts_run_side_by_side_and_a_bring_up_waits_for_every_core(tmp_path: Path, monkeypatch):
    """Two labs' one-core steps (a capture, a node's reset) at once on two cores; a step that keeps both busy (a
    bring-up) waits for them, and a one-core step asked for after it waits behind it (first come, first served)."""
    monkeypatch.setenv("LABKIT_VM_CPUS", "2")
    capture = Holder(tmp_path, "burst", "lab-b", cores=1)
    capture.wait_started()
    reset = Holder(tmp_path, "burst", "lab-c", cores=1)
    reset.wait_started()  # beside the capture
    capture.end()
    bring_up = Holder(tmp_path, "burst", "lab-d")  # both cores: waits for the reset
    time.sleep(0.5)
    assert [(t.info["lab"], t.state) for t in tickets(tmp_path)] == [("lab-c", "running"), ("lab-d", "waiting")]
    assert not _granted_after(lambda: Scheduler(tmp_path).burst("lab-a", "capture on inet", cores=1))
    reset.end()
    bring_up.wait_started()
    bring_up.end()
    assert _granted_after(lambda: Scheduler(tmp_path).burst("lab-a", "capture on inet", cores=1))


def test_a_dead_holders_ticket_is_dropped(tmp_path: Path):
    other = Holder(tmp_path, "window", "lab-b")
    other.wait_started()
    os.kill(other.process.pid, signal.SIGKILL)  # no clean-up of its own
    other.process.join(10)
    assert _granted_after(lambda: Scheduler(tmp_path).burst("lab-a", "bring-up"), seconds=3)


def test_a_process_shares_its_own_ticket_for_a_lab(tmp_path: Path):
    mine = Scheduler(tmp_path)
    # a node started inside its own window
    with mine.window("lab-a", "failover.hub_return"), mine.burst("lab-a", "node_start on hub1"):
        assert len(tickets(tmp_path)) == 1
    assert tickets(tmp_path) == []
    [record] = read_log(tmp_path)
    assert record["lab"] == "lab-a" and record["kind"] == "window" and record["pid"] == os.getpid()
    assert record["what"] == "failover.hub_return, node_start on hub1"


def test_the_wait_is_told_while_it_lasts_and_logged(tmp_path: Path):
    other = Holder(tmp_path, "burst", "lab-b")
    other.wait_started()
    waits: list[float] = []
    told_while_waiting = threading.Event()

    def waited(seconds: float) -> None:  # a check's deadline moves back as its request waits, not only at its end
        waits.append(seconds)
        if sum(waits) >= 0.5 and other.process.is_alive():
            told_while_waiting.set()

    threading.Timer(1.2, other.end).start()
    with Scheduler(tmp_path).burst("lab-a", "bring-up", waited):
        pass
    assert told_while_waiting.is_set() and len(waits) > 1 and sum(waits) >= 1.0
    mine = next(r for r in read_log(tmp_path) if r["lab"] == "lab-a")
    assert mine["waited_s"] >= 0.5 and "held_s" in mine


def test_an_interrupted_wait_leaves_the_queue(tmp_path: Path, monkeypatch):
    other = Holder(tmp_path, "window", "lab-b")
    other.wait_started()
    calls = iter(range(1000))

    def interrupted(seconds: float) -> None:
        if next(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(scheduler.time, "sleep", interrupted)
    with pytest.raises(KeyboardInterrupt), Scheduler(tmp_path).burst("lab-a", "bring-up"):
        pass
    assert [t.info["lab"] for t in tickets(tmp_path)] == ["lab-b"]
    other.end()


def test_threads_asking_for_the_same_labs_burst_at_once_share_one_ticket(tmp_path: Path):
    """As a lab's checks do when two of them capture at once (seen: the MPLS lab's two VRFs' captures)."""
    other = Holder(tmp_path, "burst", "lab-b")  # both threads queue behind it
    other.wait_started()
    mine, seen, errors = Scheduler(tmp_path), [], []

    def capture(vrf: str) -> None:
        try:
            with mine.burst("lab-a", f"capture {vrf}"):
                seen.append(len([t for t in tickets(tmp_path) if t.info["lab"] == "lab-a"]))
                time.sleep(0.3)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=capture, args=(vrf,)) for vrf in ("CORP", "ATM")]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    other.end()
    for thread in threads:
        thread.join(10)
    assert errors == [] and seen == [1, 1]
    assert [r["what"] for r in read_log(tmp_path) if r["lab"] == "lab-a"] in (["capture CORP, capture ATM"],
                                                                               ["capture ATM, capture CORP"])


def test_a_request_waiting_too_long_goes_ahead_and_is_logged_overdue(tmp_path: Path, monkeypatch):
    """A holder that hangs (a lab whose VM froze) slows the others down but never stops them."""
    monkeypatch.setattr(scheduler, "WAIT_LIMIT_S", 0.6)
    other = Holder(tmp_path, "window", "lab-b")
    other.wait_started()
    started = time.monotonic()
    with Scheduler(tmp_path).burst("lab-a", "bring-up"):
        assert 0.5 < time.monotonic() - started < 5
        assert sorted(t.info["lab"] for t in tickets(tmp_path) if t.state == "running") == ["lab-a", "lab-b"]
    other.end()
    assert {"lab": "lab-a", "kind": "burst", "overdue_s": 0.6}.items() <= read_log(tmp_path)[0].items()


def _no_wait(seconds: float) -> None:
    return None


def test_a_kept_window_holds_the_machine_until_the_labs_next_window_ends(tmp_path: Path):
    """A failed hub waits for its return inside one window: no other lab's burst comes between the two cases."""
    load = scheduler.LabLoad("lab-a", Scheduler(tmp_path))
    with load.window("failover.hub_fail", _no_wait, keep=True):
        pass
    assert [t.info["lab"] for t in tickets(tmp_path)] == ["lab-a"]
    other = Holder(tmp_path, "burst", "lab-b")
    assert not other.started.wait(0.6)
    with load.window("failover.hub_return", _no_wait):
        assert not other.started.is_set()
    other.wait_started()
    other.end()
    [window] = [r for r in read_log(tmp_path) if r["kind"] == "window"]
    assert window["what"] == "failover.hub_fail, failover.hub_return"


def test_a_kept_window_is_released_by_release_or_a_failed_case(tmp_path: Path):
    load = scheduler.LabLoad("lab-a", Scheduler(tmp_path))
    with load.window("failover.hub_fail", _no_wait, keep=True):
        pass
    load.release()
    assert tickets(tmp_path) == []
    with pytest.raises(RuntimeError), load.window("failover.hub_fail", _no_wait, keep=True):
        raise RuntimeError("precondition not met, no fault injected")  # nothing left for the next case to end
    assert tickets(tmp_path) == [] and load.kept is None
