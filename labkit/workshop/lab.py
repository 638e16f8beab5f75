"""A student's lab for an exercise: started (a lab that runs already is reset in place, never rebooted), reset to
the exercise's start in place, judged by the exercise's checks, solved by its reference solution.

A reset starts again only the nodes that may have changed since they started as designed: those the runtime
noted as touched (the exercise's start steps, a shell or a command opened in them, a solution applied; see
Runtime.mark_touched). Each gets node_reset (the fault library's way back to a node as it started: whatever runs in
it stopped, what its start script does not set again put back, the start script run again): hubs and HQ first,
then the transport and spokes, so that a spoke's first registration meets a hub that answers instead of starting
nhrpd's and charon's back-off. Then the exercise's start steps. Untouched nodes keep running."""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from labkit.console import Console
from labkit.design import Design
from labkit.errors import LabkitError
from labkit.render.faults import fault_step
from labkit.render.generate import generate
from labkit.runtime.base import Runtime
from labkit.runtime.bringup import bring_up, runs_build
from labkit.runtime.choose import running_runtime
from labkit.runtime.labspec import read_lab
from labkit.runtime.scheduler import SCHEDULER
from labkit.verify.checks.mtu import WAN_MTU
from labkit.verify.collect import Collector
from labkit.verify.engine import Check, Result, run_check
from labkit.verify.run import lab_collector
from labkit.verify.suites.baseline import established
from labkit.verify.suites.part import checked
from labkit.workshop.exercise import Exercise, ExerciseCheck

QUICK_S = 10.0  # what `check` waits for a check to hold, unless --wait (then the check's design-derived deadline)


@dataclass(frozen=True)
class Roots:
    """Where labs are built (build/<lab>/) and their reports go (reports/<lab>/; the workshop's evidence in
    reports/<lab>/workshop/)."""

    build: Path
    reports: Path

    def evidence(self, design: Design, what: str) -> Path:
        return self.reports / design.lab / "workshop" / what


def running(lab_name: str, build_root: Path) -> Runtime | None:
    """The runtime of the lab of that name if it runs (its build read as written when it was started)."""
    clab_file = build_root / lab_name / f"{lab_name}.clab.yml"
    return running_runtime(read_lab(clab_file)) if clab_file.exists() else None


def start(exercise: Exercise, design: Design, roots: Roots, requested: str, console: Console) -> Runtime:
    """The student's lab up for the exercise, at its start: a lab that already runs is reset in place (changed live
    first where its files differ); a new one is brought up."""
    runtime = running(design.lab, roots.build)
    if runtime is None:
        runtime = bring_up(generate(design, roots.build).clab_file, design.source, requested, console)
        runtime.forget_touched()  # every node as it started
    else:
        _to_build(design, runtime, roots, console)
        reset_nodes(design, runtime, console)
    apply_start(exercise, design, runtime, roots, console)
    return runtime


def reset(exercise: Exercise, design: Design, runtime: Runtime, roots: Roots, console: Console) -> None:
    """Back to the exercise's start in place: the build written again (a node's files are as designed, whatever
    was saved into them), every touched node reset, the start steps applied."""
    _to_build(design, runtime, roots, console)
    reset_nodes(design, runtime, console)
    apply_start(exercise, design, runtime, roots, console)


def _to_build(design: Design, runtime: Runtime, roots: Roots, console: Console) -> None:
    """The build written again; the running lab changed live only if it differs (a course or design edited since
    it started)."""
    build = generate(design, roots.build)
    if not runs_build(runtime, build.clab_file):
        bring_up(build.clab_file, design.source, runtime.name, console)


def waves(design: Design, nodes: set[str]) -> list[list[str]]:
    """Of `nodes`, in the order a reset restarts them: the hubs and HQ core router, then the transport and the spokes
    (a transport router starts within a spoke's first seconds, long before its first registration); empty waves
    left out."""
    later = {design.transport.name, *(s.name for s in design.spokes)}
    ordered = [[n for n in design.node_names if n not in later], [n for n in design.node_names if n in later]]
    return [wave for wave in ([n for n in names if n in nodes] for names in ordered) if wave]


def reset_nodes(design: Design, runtime: Runtime, console: Console) -> None:
    """node_reset on every touched node, wave after wave, the nodes of a wave at once, and their marks forgotten;
    LabkitError naming each failure."""
    touched = runtime.touched()
    order = waves(design, touched)
    # one burst for every wave (the nodes' injections share it), of a core per node of its largest wave
    with SCHEDULER.burst(design.lab, "reset", cores=max(map(len, order), default=1)):
        for wave in order:
            _in_parallel(wave, lambda node: runtime.inject(fault_step(design, node, "node_reset", mtu=WAN_MTU)))
            console.say(f"reset: {', '.join(wave)}")
    if not touched & set(design.node_names):
        console.say("reset: no node was touched since it started")
    runtime.forget_touched()


def _in_parallel(nodes: Sequence[str], work) -> None:
    failures: list[str] = []

    def one(node: str) -> None:
        try:
            work(node)
        except LabkitError as exc:
            failures.append(str(exc))

    with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
        list(pool.map(one, nodes))
    if failures:
        raise LabkitError("\n".join(sorted(failures)))


def apply_start(exercise: Exercise, design: Design, runtime: Runtime, roots: Roots, console: Console) -> None:
    """The exercise's start steps, in order; first, for an exercise that needs it, the designed state."""
    if exercise.converge and exercise.start:
        wait_converged(design, runtime, roots, console)
    runtime.mark_touched(step.node for step in exercise.start)
    for step in exercise.start:
        runtime.inject(fault_step(design, step.node, step.fault, **step.params))


def wait_converged(design: Design, runtime: Runtime, roots: Roots, console: Console) -> None:
    """Wait, within the design's deadlines, until the designed state holds (registrations, SAs, BGP, routes)."""
    console.say("waiting for the lab to converge (registrations, SAs, BGP, routes)")
    with _collector(design, runtime, roots.evidence(design, "converge")) as collector:
        failed = [r for r in (run_check(c, collector) for c in established(checked(design))) if r.status != "pass"]
    if failed:
        raise LabkitError(f"lab {design.lab} did not converge: " + "; ".join(f"{r.id}: {r.reason}" for r in failed))


@dataclass(frozen=True)
class Judged:
    """An exercise check and how it went."""

    check: ExerciseCheck
    result: Result

    @property
    def passed(self) -> bool:
        return self.result.status == "pass"


def judge(exercise: Exercise, design: Design, runtime: Runtime, roots: Roots, wait: bool) -> list[Judged]:
    """Run the exercise's checks in order: each for QUICK_S, or with `wait` for its own deadline (what the design's
    timers give the lab to show a change)."""
    with _collector(design, runtime, roots.evidence(design, "check")) as collector:
        return [Judged(c, run_check(_timed(c.check, wait), collector)) for c in exercise.checks]


def _timed(check: Check, wait: bool) -> Check:
    return check if wait else dataclasses.replace(check, deadline_s=min(QUICK_S, check.deadline_s))


@contextlib.contextmanager
def _collector(design: Design, runtime: Runtime, folder: Path) -> Iterator[Collector]:
    """A collector for the student's lab, its evidence in `folder` (emptied first); its sessions closed after."""
    shutil.rmtree(folder, ignore_errors=True)
    collector = lab_collector(design, runtime, folder)
    try:
        yield collector
    finally:
        collector.sessions.close()


def apply_solution(exercise: Exercise, runtime: Runtime, console: Console) -> None:
    """The reference solution typed in for the student, step by step; LabkitError with what a node answered if a
    step fails."""
    runtime.mark_touched(step.node for step in exercise.solution)
    for step in exercise.solution:
        done = runtime.exec(step.node, step.argv(), timeout=60)
        if not done.ok:
            raise LabkitError(f"solution step on {step.node} failed (exit {done.rc}): {' '.join(step.argv())}\n"
                              f"{(done.stdout + done.stderr).strip()[-2000:]}")
        console.say(f"{step.node}: {' / '.join(step.cli) or step.shell}")
