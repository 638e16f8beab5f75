"""Checks: named, described, per node, retried until a deadline instead of sleeping a fixed time."""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from labkit.errors import LabkitError
from labkit.verify.collect import Collector, Unsupported
from labkit.verify.connect import KILL_MARGIN_S, SessionLost, TargetDown
from labkit.verify.parse import ParseError

DEFAULT_COMMAND_S = 60.0  # a command's timeout unless its check asks for another
# at most this much of the time a check's attempts wait for their turns on a shared machine is not counted as the
# check's own: a failing check that waits for a turn before every attempt still ends (a retried capture queued behind
# other labs' windows each time took 15 minutes)
PUSHBACK_LIMIT_S = 240.0


class CheckFailed(Exception):
    """The network is not (yet) in the state the check expects; the message says how it differs."""


@dataclass
class Context:
    """What a check probe uses: facts from nodes, evidence sink, per-check scratch memory."""

    collector: Collector
    evidence: list[str] = field(default_factory=list)
    memory: dict[str, Any] = field(default_factory=dict)
    measurements: dict[str, Any] = field(default_factory=dict)  # figures for the report's timings
    until: float = float("inf")  # time.monotonic() by which the attempt must end
    waited: float = 0.0  # seconds the attempt waited for its turn on a shared machine: its time is pushed back
    allowance: float = PUSHBACK_LIMIT_S  # how far the attempt's end may still be pushed back
    waited_before: float = 0.0  # what the check's earlier attempts waited for their turns
    lock: threading.Lock = field(default_factory=threading.Lock)
    counted_to: float = float("-inf")  # time.monotonic() up to which waiting has been counted

    def pushed_back(self, seconds: float) -> None:
        """The attempt waited this long, until now, for a burst or window of its own (labkit.runtime.scheduler):
        the lab was not looked at meanwhile, so the attempt's end moves back as much, up to what the check may still
        be pushed back (`allowance`). Facts that wait side by side count their common time once: summed, a capture
        and the traffic it awaits had a failing check retried for minutes (workshop 10, CI 2026-12-07)."""
        with self.lock:
            now = time.monotonic()
            fresh = now - max(now - seconds, self.counted_to)
            self.counted_to = max(self.counted_to, now)
            moved = max(0.0, min(fresh, self.allowance - self.waited))
            self.until += moved
            self.waited += moved

    def unobserved_s(self) -> float:
        """Seconds the check has waited for its turns so far, every attempt: the lab was not looked at meanwhile,
        so a time measured by looking at it leaves them out."""
        return self.waited_before + self.waited

    def remaining(self) -> float:
        """Seconds left for this attempt; CheckFailed when none are."""
        left = self.until - time.monotonic()
        if left <= 0:
            raise CheckFailed("the check ran out of time before it could finish")
        return left

    def fact(self, node: str, name: str, timeout: float | None = None, **params: Any) -> list:
        """A fact from a node; its command may take `timeout` (the session's default if None), never longer
        than the attempt has left."""
        limit = min(timeout or DEFAULT_COMMAND_S, self.remaining())
        return self.collector.run(node, name, self.evidence, timeout=limit, waited=self.pushed_back, **params)

    def require_shown(self, node: str, what: str) -> None:
        """Unsupported (the check is not applicable) if the node's platform does not show `what` in its outputs."""
        if not self.collector.shown(node, what):
            raise Unsupported(f"{node}'s platform does not show {what}")

    def inject(self, node: str, fault: str, step: str = "apply", **params: Any) -> None:
        """Have the runtime run a step of a fault in a node (see labkit.render.faults); CheckFailed, with what
        the node printed, if the step failed there."""
        try:
            self.collector.inject(node, fault, self.evidence, step, waited=self.pushed_back, **params)
        except LabkitError as exc:
            raise CheckFailed(str(exc)) from exc

    @contextlib.contextmanager
    def window(self, what: str, keep: bool = False) -> Iterator[None]:
        """A measured window: on a machine shared with other labs, nothing heavy of theirs runs meanwhile; `keep`:
        nor until the lab's next window ends."""
        with self.collector.load.window(what, self.pushed_back, keep):
            yield

    def each(self, items: Iterable[Any], probe: Callable[[Any], str | None]) -> list[str]:
        """Run `probe` for every item in parallel; all failures are gathered into one CheckFailed."""
        items = list(items)
        failures: list[str] = []
        notes: list[str] = []

        down: list[TargetDown] = []
        errors: list[Exception] = []  # anything else (a bug, a transport error): the attempt's outcome, never a pass

        def one(item: Any) -> None:
            try:
                note = probe(item)
                if note:
                    notes.append(note)
            except (CheckFailed, ParseError, SessionLost) as exc:
                failures.append(str(exc))
            except TargetDown as exc:
                down.append(exc)
            except Exception as exc:
                errors.append(exc)

        pool = ThreadPoolExecutor(max_workers=max(1, min(8, len(items))))
        try:
            futures = [pool.submit(one, item) for item in items]
            late = set(futures)
            while late and time.monotonic() < self.until + KILL_MARGIN_S + 1:  # `until` may move back meanwhile
                _, late = wait(late, timeout=max(0.0, min(1.0, self.until + KILL_MARGIN_S + 1 - time.monotonic())))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)  # never wait on a worker past the deadline
        if down:
            raise down[0]
        if errors:
            raise errors[0]
        if late:
            failures.append(f"{len(late)} of {len(items)} probes had not answered when the check's time ran out")
        if failures:
            raise CheckFailed("; ".join(sorted(failures)))
        return sorted(notes)


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    nodes: tuple[str, ...]
    probe: Callable[[Context], str | None]  # returns a detail on success, raises CheckFailed otherwise
    deadline_s: float = 60
    retry_every_s: float = 2
    converge: bool = False  # part of "the lab has converged" (timed as converge_s)
    attempt_s: float = 0  # the longest one attempt may run, if longer than the deadline (a fault case)
    needs: tuple[str, ...] = ()  # ids of earlier checks that must pass first; if one does not, this one is blocked
    alone: bool = False  # runs with no other check in flight, after every earlier check (a fault case)
    follows: tuple[str, ...] = ()  # ids of earlier checks that must have ended, however, before this one starts

    def ends_by(self, started: float) -> float:
        """When an attempt started at `started` must end: the deadline (or attempt_s) plus one command."""
        return started + max(self.deadline_s, self.attempt_s) + DEFAULT_COMMAND_S


@dataclass
class Result:
    id: str
    title: str
    nodes: tuple[str, ...]
    status: str  # pass, fail, error, skip (the target cannot provide a fact), blocked (a check it needs did not pass)
    reason: str
    evidence: list[str]
    duration_s: float
    attempts: int
    finished_at: float = 0.0
    measurements: dict[str, Any] = field(default_factory=dict)


def run_check(check: Check, collector: Collector) -> Result:
    """Probe until it passes or the deadline passes; a ParseError is a failure with its reason. An attempt
    never outlives `check.ends_by`; a target that stopped answering fails the check at once."""
    started = time.monotonic()
    attempts = 0
    evidence: list[str] = []
    memory: dict[str, Any] = {}
    waited = 0.0  # what the attempts waited for their turn on a shared machine: not the lab's time
    while True:
        attempts += 1
        ctx = Context(collector, memory=memory, until=check.ends_by(started) + waited,
                      allowance=PUSHBACK_LIMIT_S - waited, waited_before=waited)
        status, reason = _attempt(check, ctx)
        evidence = ctx.evidence
        waited += ctx.waited
        elapsed = time.monotonic() - started
        if status != "fail" or collector.down or elapsed - waited + check.retry_every_s > check.deadline_s:
            break
        time.sleep(check.retry_every_s)
    if status in ("fail", "error") and collector.down and collector.down not in reason:
        status, reason = "fail", f"{collector.down} (the attempt ended: {reason.splitlines()[0]})"
    elif status == "fail" and attempts > 1:
        reason = f"{reason} (still so after {attempts} attempts in {elapsed:.0f}s)"
    return Result(check.id, check.title, check.nodes, status, reason, evidence, round(elapsed, 2), attempts,
                  finished_at=time.monotonic(), measurements=ctx.measurements)


def _attempt(check: Check, ctx: Context) -> tuple[str, str]:
    """One run of the probe in a worker thread, abandoned if it outlives the attempt's end."""
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["detail"] = check.probe(ctx)
        except BaseException as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=work, name=f"check {check.id}", daemon=True)
    worker.start()
    while worker.is_alive() and time.monotonic() < ctx.until + KILL_MARGIN_S + 1:  # `until` may move back
        worker.join(max(0.0, min(1.0, ctx.until + KILL_MARGIN_S + 1 - time.monotonic())))
    if worker.is_alive():
        return "fail", "no result by the end of the check's time (its deadline plus one command): abandoned"
    error = outcome.get("error")
    if error is None:
        return "pass", outcome.get("detail") or ""
    if isinstance(error, (CheckFailed, ParseError, SessionLost, TargetDown)):
        return "fail", str(error)
    if isinstance(error, Unsupported):  # not applicable on this target (a router lacks lab-only tools)
        return "skip", str(error)
    if isinstance(error, Exception):  # a bug or a broken session: report it, never hide it
        trace = "".join(traceback.format_exception(error, limit=3))
        return "error", f"{type(error).__name__}: {error}\n{trace}"
    raise error  # KeyboardInterrupt and the like belong to the caller
