"""The one small interface every runtime implements, and the record of which runtime runs a lab."""

from __future__ import annotations

import contextlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from labkit import settings
from labkit.errors import LabkitError
from labkit.runtime.change import LabChange, LabState, lab_state
from labkit.runtime.executor import Completed
from labkit.runtime.labspec import LabSpec
from labkit.runtime.scheduler import SCHEDULER, Waited

if TYPE_CHECKING:  # rendered before a runtime sees it
    from labkit.render.faults import FaultStep

Say = Callable[[str], None]


def record_path(lab: str) -> Path:
    return settings.run_dir() / f"{lab}.json"


def touched_path(lab: str) -> Path:
    return settings.run_dir() / f"{lab}.touched"


def recorded_labs() -> list[str]:
    """The names of every lab that has a record (runs, or was left behind)."""
    return sorted(path.stem for path in settings.run_dir().glob("*.json"))


def lab_namespaces(lab: str, namespaces: list[str], other_labs: list[str]) -> list[str]:
    """Of `namespaces`, those of lab `lab` (`<lab>-<node>`): a namespace of another lab whose name extends this
    one (`<lab>-<student>`, a workshop copy) is that lab's, not this one's."""
    longer = [f"{other}-" for other in other_labs if other.startswith(f"{lab}-")]
    return [ns for ns in namespaces if ns.startswith(f"{lab}-") and not ns.startswith(tuple(longer))]


def read_record(lab: str) -> dict | None:
    try:
        return json.loads(record_path(lab).read_text())
    except (OSError, ValueError):
        return None


class Runtime(ABC):
    """Brings a lab up and down, runs commands in its nodes and opens interactive sessions."""

    name: ClassVar[str]

    def __init__(self, spec: LabSpec):
        self.spec = spec
        self.timings: dict[str, float] = {}  # how long the stages of the last `up` took (seconds)

    @abstractmethod
    def up(self, say: Say) -> None:
        """Start every node and return once each node's daemons run; the lab stays up."""

    @abstractmethod
    def down(self, say: Say) -> None:
        """Remove everything the lab made; harmless when nothing runs."""

    def change(self, change: LabChange, say: Say) -> None:
        """Bring the running lab to this spec as `change` says, leaving untouched nodes' processes alone, and
        record the new state. A runtime that cannot refuses before touching anything."""
        raise LabkitError(f"runtime {self.name} cannot change a running lab: `labkit down` the lab first, "
                          "then `labkit up` starts it as designed")

    @abstractmethod
    def status(self) -> dict[str, dict[str, str]]:
        """Per node, each daemon's state ('up'/'down'); {} for a node that is not running."""

    @abstractmethod
    def exec(self, node: str, argv: list[str], timeout: float = 60) -> Completed:
        """Run a command in a node and collect its output."""

    @abstractmethod
    def attach_argv(self, node: str, argv: list[str]) -> list[str]:
        """A local command giving an interactive terminal on `argv` inside the node."""

    def inject(self, fault: FaultStep, waited: Waited | None = None) -> str:
        """Run a fault's step, rendered for its node (labkit.render.faults.fault_step), in that running node; returns
        what the node printed. A step that starts router processes is a burst (labkit.runtime.scheduler) of one
        core, a node's (`waited` is told how long it waited for its turn)."""
        what = f"{fault.fault} on {fault.node}"
        turn = SCHEDULER.burst(self.spec.name, what, waited, cores=1) if fault.burst else contextlib.nullcontext()
        with turn:
            done = self.exec(fault.node, ["sh", "-c", fault.script], timeout=180)
        if not done.ok:
            raise LabkitError(f"{fault.step} {what} failed (exit {done.rc}): "
                              f"{(done.stdout + done.stderr).strip()[-2000:]}")
        return done.stdout + done.stderr

    def resources(self) -> dict[str, float]:
        """Memory figures of the running lab (MiB), where the runtime can measure them."""
        return {}

    def heartbeat(self) -> str | None:
        """None while what runs the lab answers; otherwise what is wrong (a VM that hung or exited)."""
        return None

    def abandon(self, reason: str) -> None:
        """Stop waiting on the lab: commands in flight end, and later ones fail, with `reason`."""
        return None

    def console_log(self) -> Path | None:
        """What the machine running the lab printed (a VM's kernel console), where there is one."""
        return None

    def write_record(self, extra: dict | None = None) -> None:
        """Which runtime runs the lab, and the state (labkit.runtime.change) of the build it runs."""
        settings.run_dir().mkdir(parents=True, exist_ok=True)
        data = {"runtime": self.name, "lab": self.spec.name, "clab_file": str(self.spec.clab_file)}
        data |= lab_state(self.spec).to_json()
        record_path(self.spec.name).write_text(json.dumps(data | (extra or {}), indent=2))

    def recorded_state(self) -> LabState | None:
        """The state the running lab was brought to; None without a record of it."""
        return LabState.from_json(read_record(self.spec.name) or {})

    def drop_record(self) -> None:
        record_path(self.spec.name).unlink(missing_ok=True)
        touched_path(self.spec.name).unlink(missing_ok=True)

    def mark_touched(self, nodes: Iterable[str]) -> None:
        """Note nodes that may no longer be as they started (a shell opened in them, a command or a fault run by
        hand): a workshop's reset starts those again and leaves the others running."""
        settings.run_dir().mkdir(parents=True, exist_ok=True)
        with touched_path(self.spec.name).open("a", encoding="utf-8") as marks:
            marks.writelines(f"{node}\n" for node in nodes)

    def touched(self) -> set[str]:
        """The nodes marked touched since the marks were last forgotten."""
        try:
            return set(touched_path(self.spec.name).read_text(encoding="utf-8").split())
        except OSError:
            return set()

    def forget_touched(self) -> None:
        touched_path(self.spec.name).unlink(missing_ok=True)


@contextlib.contextmanager
def removed_on_failure(runtime: Runtime, what: str, say: Say) -> Iterator[None]:
    """A bring-up or change that fails or is interrupted (Ctrl-C, SIGTERM) removes the lab: a lab is either as
    designed or gone."""
    try:
        yield
    except BaseException:
        say(f"{what} failed or was interrupted: removing the lab")
        runtime.down(say)
        raise
