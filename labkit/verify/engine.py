"""Checks: named, described, per node, retried until a deadline instead of sleeping a fixed time."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from labkit.verify.collect import Collector, Unsupported
from labkit.verify.connect import SessionLost
from labkit.verify.parse import ParseError


class CheckFailed(Exception):
    """The network is not (yet) in the state the check expects; the message says how it differs."""


@dataclass
class Context:
    """What a check probe uses: facts from nodes, evidence sink, per-check scratch memory."""

    collector: Collector
    evidence: list[str] = field(default_factory=list)
    memory: dict[str, Any] = field(default_factory=dict)
    measurements: dict[str, Any] = field(default_factory=dict)  # figures for the report's timings

    def fact(self, node: str, name: str, timeout: float | None = None, **params: Any) -> list:
        return self.collector.run(node, name, self.evidence, timeout=timeout, **params)

    def inject(self, node: str, fault: str, **params: Any) -> None:
        """Have the runtime inject a fault into a node (see labkit.runtime.faults)."""
        self.collector.inject(node, fault, self.evidence, **params)

    def each(self, items: Iterable[Any], probe: Callable[[Any], str | None]) -> list[str]:
        """Run `probe` for every item in parallel; all failures are gathered into one CheckFailed."""
        items = list(items)
        failures: list[str] = []
        notes: list[str] = []

        def one(item: Any) -> None:
            try:
                note = probe(item)
                if note:
                    notes.append(note)
            except (CheckFailed, ParseError, SessionLost) as exc:
                failures.append(str(exc))

        with ThreadPoolExecutor(max_workers=max(1, min(8, len(items)))) as pool:
            list(pool.map(one, items))
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


@dataclass
class Result:
    id: str
    title: str
    nodes: tuple[str, ...]
    status: str  # pass, fail, error, skip (the target cannot provide a fact the check needs)
    reason: str
    evidence: list[str]
    duration_s: float
    attempts: int
    finished_at: float = 0.0
    measurements: dict[str, Any] = field(default_factory=dict)


def run_check(check: Check, collector: Collector) -> Result:
    """Probe until it passes or the deadline passes; a ParseError is a failure with its reason."""
    started = time.monotonic()
    attempts = 0
    evidence: list[str] = []
    memory: dict[str, Any] = {}
    while True:
        attempts += 1
        ctx = Context(collector, memory=memory)
        try:
            detail = check.probe(ctx)
            status, reason = "pass", detail or ""
        except (CheckFailed, ParseError, SessionLost) as exc:
            status, reason = "fail", str(exc)
        except Unsupported as exc:  # not applicable on this target (a router lacks lab-only tools)
            status, reason = "skip", str(exc)
        except Exception as exc:  # a bug or a broken session: report it, never hide it
            status = "error"
            reason = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
        evidence = ctx.evidence
        elapsed = time.monotonic() - started
        if status != "fail" or elapsed + check.retry_every_s > check.deadline_s:
            break
        time.sleep(check.retry_every_s)
    if status == "fail" and attempts > 1:
        reason = f"{reason} (still so after {attempts} attempts in {elapsed:.0f}s)"
    return Result(check.id, check.title, check.nodes, status, reason, evidence, round(elapsed, 2), attempts,
                  finished_at=time.monotonic(), measurements=ctx.measurements)
