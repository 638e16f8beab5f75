"""Several labs on one machine: who may load its CPUs when.

Labs share the machine's cores (and, in the embedded runtime, one microVM). Most of a lab's time is spent waiting on
protocol timers with the CPUs idle, so labs run side by side; two kinds of step are kept apart:

- a *burst*: a CPU-heavy step of a short time: a bring-up, a node started or reset, a capture, a teardown; it keeps
  busy the cores it says (all of them by default: a bring-up starts every node at once; a step in one node, one);
- a *window*: a measured window, whose traffic loss or timing goes into a report (a failover, a takeover, a rekey,
  a WAN address change under 20 ms probes). Nothing heavy of another lab may run beside it.

A window starts once nothing else runs and no window was asked for before it, and holds the machine until it ends; a
burst starts once no window runs or was asked for before it, and the cores of the bursts that run or wait before it
leave room for its own (the vCPUs in all: two one-core steps run side by side, a bring-up alone). So requests are served
in the order they came, and a lab waiting for its window is never overtaken by a later burst. Light work (a check
reading state) is never held. A request of a process that already holds a ticket for the same lab covering it (a node
started inside its own window) passes at once.

A ticket is a file in the scheduler's folder (labkit.settings.scheduler_dir) named
`<when asked>-<pid>-<thread>.<kind>.<state>`, locked by its owner for as long as it lives: a ticket found unlocked
belongs to a process that died (SIGKILL) and is removed, so nobody waits on the dead. A released ticket adds a line
to the folder's log.jsonl (lab, kind, what, seconds waited and held), from which `make test` tells where the time
went.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from labkit import settings

Kind = Literal["burst", "window"]
Say = Callable[[str], None]
# the cores the labs share: the microVM's vCPUs (labkit.settings.vm_cpus), read as a request is made. Bursts are
# CPU-bound: two that each keep every core busy take as long at once as one after the other, each twice as slow
POLL_S = 0.25
# a request that waited this long goes ahead without its turn (saying so, and logged as overdue): a holder that hangs
# (a lab whose VM froze, a stopped process) then slows the others down but never stops them; measured windows and
# bursts last about two minutes at most
WAIT_LIMIT_S = 360.0
LOG = "log.jsonl"
Waited = Callable[[float], None]  # told, while a request waits, each stretch it has waited since it was last told


@dataclass(frozen=True)
class Ticket:
    path: Path
    kind: Kind
    state: str  # waiting, running
    info: dict

    @property
    def key(self) -> str:
        """Its place in the queue: when it was asked for."""
        return self.path.name.split(".", 1)[0]


@dataclass
class _Held:
    """What this process holds for a lab: one ticket, shared by its threads."""

    ticket: Path
    handle: IO[str]
    granted: float
    waited: float
    users: int = 1
    what: list[str] = field(default_factory=list)


class Scheduler:
    """The machine-wide scheduler as seen from one process."""

    def __init__(self, folder: Path | None = None) -> None:
        self.given = folder
        self.held: dict[tuple[str, Kind], _Held] = {}
        self.asking: set[tuple[str, Kind]] = set()  # tickets a thread of this process is waiting for
        self.changed = threading.Condition()

    @property
    def folder(self) -> Path:
        """Where the tickets are: the one given, else the machine's."""
        return self.given or settings.scheduler_dir()

    @contextlib.contextmanager
    def burst(self, lab: str, what: str, waited: Waited | None = None, say: Say | None = None,
              cores: int | None = None) -> Iterator[None]:
        """Hold a burst of `cores` cores (None: all) for `lab` while the block runs; `waited` is told, as the request
        waits, how long it has waited (so a caller's deadline moves back while it waits, not only once it is
        granted), `say` what it waits for when it must."""
        every = settings.vm_cpus()
        with self._hold(lab, "burst", what, waited, say, every if cores is None else max(1, min(cores, every))):
            yield

    @contextlib.contextmanager
    def window(self, lab: str, what: str, waited: Waited | None = None, say: Say | None = None) -> Iterator[None]:
        """Hold a measured window for `lab` while the block runs."""
        with self._hold(lab, "window", what, waited, say):
            yield

    @contextlib.contextmanager
    def _hold(self, lab: str, kind: Kind, what: str, waited: Waited | None, say: Say | None,
              cores: int | None = None) -> Iterator[None]:
        tell = _Teller(waited)
        key = self._shared_or_asking(lab, kind, what, tell)
        if key is None:
            key = (lab, kind)
            try:
                own = self._acquire(lab, kind, what, say, tell, settings.vm_cpus() if cores is None else cores)
            finally:
                with self.changed:
                    self.asking.discard(key)
                    self.changed.notify_all()
            with self.changed:
                self.held[key] = own
                self.changed.notify_all()
        tell()
        try:
            yield
        finally:
            self._leave(key)

    def _shared_or_asking(self, lab: str, kind: Kind, what: str, tell: _Teller) -> tuple[str, Kind] | None:
        """This process's ticket for the lab that covers `kind` (a window covers a burst), now shared, once another
        thread asking for it got it; None when this thread is to ask for one."""
        with self.changed:
            while True:
                for key in ((lab, "window"), (lab, kind)):
                    own = self.held.get(key)
                    if own is not None:
                        own.users += 1
                        own.what.append(what)
                        return key
                if (lab, kind) not in self.asking:
                    self.asking.add((lab, kind))
                    return None
                self.changed.wait(POLL_S)
                tell()

    def _acquire(self, lab: str, kind: Kind, what: str, say: Say | None, tell: _Teller, cores: int) -> _Held:
        self.folder.mkdir(parents=True, exist_ok=True)
        asked = time.time()
        name = f"{time.time_ns():020d}-{os.getpid()}-{threading.get_ident()}.{kind}"
        draft = self.folder / f"{name}.draft"
        handle = draft.open("w", encoding="utf-8")
        fcntl.flock(handle, fcntl.LOCK_EX)  # the lock lives with the file through its renames
        handle.write(json.dumps({"lab": lab, "what": what, "pid": os.getpid(), "cores": cores}))
        handle.flush()
        waiting, running = self.folder / f"{name}.waiting", self.folder / f"{name}.running"
        draft.rename(waiting)
        try:
            while not self._started(waiting, running, kind, cores,
                                    lab if time.time() - asked > WAIT_LIMIT_S else None):
                if say is not None:
                    say(f"waiting for other labs on this machine: {_queue_text(self.folder, waiting)}")
                    say = None
                time.sleep(POLL_S)
                tell()
        except BaseException:  # interrupted while queued: leave the queue
            waiting.unlink(missing_ok=True)
            handle.close()
            raise
        granted = time.time()
        return _Held(running, handle, granted, granted - asked, what=[what])

    def _started(self, waiting: Path, running: Path, kind: Kind, cores: int, overdue: str | None = None) -> bool:
        """Start the ticket (a burst of `cores`) if the queue lets it, or at once if it is overdue (`overdue`: its
        lab), decided and done under the queue's lock."""
        with _queue_lock(self.folder):
            if overdue:
                waiting.rename(running)
                self.log({"lab": overdue, "kind": kind, "overdue_s": WAIT_LIMIT_S})
                return True
            queue = [t for t in tickets(self.folder) if t.info.get("pid") != os.getpid() or t.path == waiting]
            mine = waiting.name.split(".", 1)[0]
            before = [t for t in queue if t.key < mine or t.state == "running"]  # asked for earlier, or running
            if any(t.kind == "window" for t in before):
                return False
            if kind == "window" and before:
                return False
            if kind == "burst" and _cores(before) + cores > settings.vm_cpus():
                return False
            waiting.rename(running)
            return True

    def _leave(self, key: tuple[str, Kind]) -> None:
        with self.changed:
            own = self.held[key]
            own.users -= 1
            if own.users:
                return
            del self.held[key]
        held = time.time() - own.granted
        own.ticket.unlink(missing_ok=True)
        own.handle.close()
        self.log({"lab": key[0], "kind": key[1], "what": ", ".join(dict.fromkeys(own.what)),
                  "waited_s": round(own.waited, 2), "held_s": round(held, 2)})

    def log(self, record: dict) -> None:
        """Add a line to the machine's log (a ticket released, a lab's CPU use at its teardown), with the process
        that wrote it and when."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / LOG).open("a", encoding="utf-8") as log:
            log.write(json.dumps(record | {"pid": os.getpid(), "end": round(time.time(), 2)}) + "\n")


class _Teller:
    """Tells a request's `waited` callback each stretch of waiting since it was last told."""

    def __init__(self, waited: Waited | None) -> None:
        self.waited = waited
        self.last = time.monotonic()

    def __call__(self) -> None:
        now = time.monotonic()
        if self.waited is not None and now > self.last:
            self.waited(now - self.last)
        self.last = now


def _cores(queue: list[Ticket]) -> int:
    """The cores the bursts among `queue` keep busy (a ticket that does not say: all)."""
    return sum(t.info.get("cores", settings.vm_cpus()) for t in queue if t.kind == "burst")


def _queue_text(folder: Path, mine: Path) -> str:
    """What runs and what waits before `mine`, as a user reads it."""
    before = [t for t in tickets(folder) if t.key < mine.name.split(".", 1)[0] or t.state == "running"]
    return "; ".join(describe(t) for t in before) or "-"


def describe(ticket: Ticket) -> str:
    return f"{ticket.info.get('lab')}'s {ticket.kind} ({ticket.info.get('what')}, {ticket.state})"


@contextlib.contextmanager
def _queue_lock(folder: Path) -> Iterator[None]:
    with (folder / "queue.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def tickets(folder: Path | None = None) -> list[Ticket]:
    """Live tickets in the order they were asked for; a ticket nobody holds (its owner died) is removed."""
    found = []
    for path in sorted((folder or settings.scheduler_dir()).glob("*.*.*")):
        _, kind, state = path.name.split(".")
        if state not in ("waiting", "running"):
            continue
        try:
            with path.open(encoding="utf-8") as probe:
                try:
                    fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:  # its owner holds it: alive
                    found.append(Ticket(path, kind, state, json.loads(probe.read() or "{}")))
                    continue
            path.unlink(missing_ok=True)
        except (OSError, ValueError):  # renamed or released meanwhile
            continue
    return found


def read_log(folder: Path | None = None) -> list[dict]:
    """Every line of the machine's log, oldest first."""
    try:
        lines = ((folder or settings.scheduler_dir()) / LOG).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [json.loads(line) for line in lines if line.strip()]


SCHEDULER = Scheduler()


class LabLoad:
    """A lab's share of the machine, as verification sees it (labkit.verify.collect.Load): its heavy steps are
    bursts, its measured windows windows. A window may be kept for the lab's next one (a case that leaves its fault
    in place for the next case to end): other labs' steps do not come between them, so the lab is not left mid-fault
    for as long as they take."""

    def __init__(self, lab: str, scheduler: Scheduler = SCHEDULER) -> None:
        self.lab, self.scheduler = lab, scheduler
        self.kept: contextlib.ExitStack | None = None

    def burst(self, what: str, waited: Waited, cores: int | None = None) -> contextlib.AbstractContextManager[None]:
        return self.scheduler.burst(self.lab, what, waited, cores=cores)

    @contextlib.contextmanager
    def window(self, what: str, waited: Waited, keep: bool = False) -> Iterator[None]:
        """A measured window for the block (the kept one, if any, continued); with `keep`, still held after it,
        until the lab's next window ends or `release`."""
        held, self.kept = self.kept, None
        held = held or contextlib.ExitStack()
        # the kept window is this process's: the request passes at once, and the log names both
        held.enter_context(self.scheduler.window(self.lab, what, waited))
        try:
            yield
        except BaseException:
            held.close()
            raise
        if keep:
            self.kept = held
        else:
            held.close()

    def release(self) -> None:
        """The kept window, if any, released."""
        held, self.kept = self.kept, None
        if held is not None:
            held.close()
