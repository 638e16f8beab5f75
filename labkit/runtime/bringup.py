"""A lab brought to its build: started when it does not run, changed live when it runs and differs, left alone
when it matches. The build is read through its containerlab file, the one contract between rendering and the
runtimes; `source` is how the user names the lab in a command (the design file)."""

from __future__ import annotations

from pathlib import Path

from labkit.console import Console
from labkit.errors import LabkitError
from labkit.runtime.base import Runtime, removed_on_failure
from labkit.runtime.change import lab_change, lab_state
from labkit.runtime.choose import require_root, running_runtime, runtime_for
from labkit.runtime.labspec import read_lab
from labkit.runtime.scheduler import SCHEDULER


def bring_up(clab_file: Path, source: str | Path, requested: str, console: Console) -> Runtime:
    """Start the lab; a lab that runs already is changed live to the build (or left alone if it matches)."""
    require_root()
    spec = read_lab(clab_file)
    runtime = runtime_for(spec, requested)
    if running_runtime(spec) is not None:
        try:
            states = runtime.status()
        except LabkitError as exc:  # a hung VM: down stops it, up then boots a new one
            console.say(str(exc))
            states = {}
        if any(states.values()):
            change_live(source, runtime, states, console)
            return runtime
        console.say(f"cleaning up a stale record of lab {spec.name}")
        runtime.down(console.say)
    console.say(f"bringing up lab {spec.name} on runtime {runtime.name}")
    waited = _Waited()
    with SCHEDULER.burst(spec.name, "bring-up", waited, console.say), \
            removed_on_failure(runtime, "bring-up", console.say):
        waited.say(console)
        runtime.up(console.say)
    return runtime


class _Waited:
    """How long a step waited for other labs' heavy steps, told to the user once it may start (when it waited)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, seconds: float) -> None:
        self.seconds += seconds

    def say(self, console: Console) -> None:
        if self.seconds >= 1:
            console.say(f"waited {self.seconds:.0f}s for other labs' heavy steps and measurements on this machine")


def change_live(source: str | Path, runtime: Runtime, states: dict[str, dict[str, str]], console: Console) -> None:
    """Bring the running lab to the new build: start added nodes, stop removed ones, restart changed ones;
    nodes whose files and links are the same keep running untouched. `states`: the lab's status now."""
    lab = runtime.spec.name
    recorded = runtime.recorded_state()
    if recorded is None:
        raise LabkitError(f"lab {lab} is running, but its record does not say which files its nodes run "
                          f"(an older labkit started it); `labkit down {source}` first")
    change = lab_change(recorded, lab_state(runtime.spec))
    if change.empty:
        console.say(f"lab {lab} is running and matches {source}: nothing to change")
        return
    unhealthy = [node for node in change.unchanged if not states.get(node) or "down" in states[node].values()]
    if unhealthy:
        raise LabkitError(f"lab {lab} is running, but not every node is healthy ({', '.join(unhealthy)}: "
                          f"see `labkit status {source}`), and a live change leaves unchanged nodes as they "
                          f"are; `labkit down {source}` first, then `labkit up` starts it as designed")
    console.say(f"changing lab {lab} live on runtime {runtime.name}: {len(change.added)} nodes to start, "
                f"{len(change.removed)} to stop, {len(change.changed)} to restart")
    waited = _Waited()
    with SCHEDULER.burst(lab, "live change", waited, console.say):
        waited.say(console)
        runtime.change(change, console.say)
    for node, action in change.actions().items():
        console.say(f"  {node:<12} {action}")


def runs_build(runtime: Runtime, clab_file: Path) -> bool:
    """Whether the running lab runs this build as it is (its record's files and links match): a live change would
    have nothing to do. Asks no node."""
    recorded = runtime.recorded_state()
    return recorded is not None and lab_change(recorded, lab_state(read_lab(clab_file))).empty
