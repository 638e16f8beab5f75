"""Running a suite: checks start as soon as the checks they need have passed, several at a time, in the
suite's order; a check whose need failed is reported blocked at once instead of waiting out its deadline
(a failure barrier); a check marked `alone` runs with nothing else in flight, and one that `follows` others starts
once they ended, whatever they found."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace

from labkit.verify.collect import Collector
from labkit.verify.engine import Check, Result, run_check

IN_FLIGHT = 3  # checks running at once: each may itself probe several nodes in parallel
SATISFIED = ("pass", "skip")  # a need that was not applicable to the target does not block


def after(prior: Iterable[Check], *checks: Check) -> list[Check]:
    """`checks`, each also needing every check of `prior` to pass."""
    ids = tuple(c.id for c in prior)
    return [replace(c, needs=_merged(c.needs, ids)) for c in checks]


def chain(*checks: Check) -> list[Check]:
    """`checks` as one story: each also needs the one before it."""
    told = list(checks[:1])
    for check in checks[1:]:
        told.append(replace(check, needs=_merged(check.needs, (told[-1].id,))))
    return told


def _merged(own: tuple[str, ...], more: tuple[str, ...]) -> tuple[str, ...]:
    return own + tuple(i for i in more if i not in own)


def validate(checks: list[Check]) -> None:
    """Ids are unique and every need (or check followed) names an earlier check; ValueError says which is not."""
    seen: set[str] = set()
    for check in checks:
        if check.id in seen:
            raise ValueError(f"two checks have the id {check.id}")
        unknown = [n for n in check.needs + check.follows if n not in seen]
        if unknown:
            raise ValueError(f"{check.id} needs {', '.join(unknown)}, which is not an earlier check of the suite")
        seen.add(check.id)


def blocked(check: Check, by: list[Result]) -> Result:
    names = ", ".join(f"{r.id} ({r.status})" for r in by)
    return Result(check.id, check.title, check.nodes, "blocked", f"not run: it needs {names}", [], 0.0, 0)


def run_suite(checks: list[Check], collector: Collector, on_result: Callable[[Result], None],
              in_flight: int = IN_FLIGHT, block: bool = True) -> list[Result]:
    """Run every check as its needs and `alone` allow; results in the suite's order, each also passed to
    `on_result` as it finishes. With `block` off, needs only order the checks (routers looked at once, as
    they stand, where a failed check costs no waiting and its dependants still tell something)."""
    validate(checks)
    results: dict[int, Result] = {}
    by_id: dict[str, Result] = {}
    running: dict[Future, int] = {}

    def finish(index: int, result: Result) -> None:
        results[index] = by_id[result.id] = result
        on_result(result)

    def ready(index: int) -> bool:
        check = checks[index]
        if any(n not in by_id for n in check.needs + check.follows) or len(running) >= in_flight:
            return False
        earlier_done = all(i in results for i in range(index))
        if check.alone:
            return earlier_done and not running
        barrier = next((i for i in range(index - 1, -1, -1) if checks[i].alone), None)
        return not any(checks[i].alone for i in running.values()) and (barrier is None or barrier in results)

    pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="check")
    try:
        while len(results) < len(checks):
            for index, check in enumerate(checks):
                if index in results or index in running.values():
                    continue
                failed = [by_id[n] for n in check.needs if block and n in by_id and by_id[n].status not in SATISFIED]
                if failed:
                    finish(index, blocked(check, failed))
                elif ready(index):
                    running[pool.submit(run_check, check, collector)] = index
            if running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    finish(running.pop(future), future.result())
    finally:  # interrupted: stop at once; run_check bounds what is already running
        pool.shutdown(wait=False, cancel_futures=True)
    return [results[i] for i in range(len(checks))]
