"""Facts about nodes: run a platform's command through a session, parse it, keep the evidence."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from labkit.errors import LabkitError
from labkit.platforms import descriptors
from labkit.verify.connect import SessionLost, Sessions, TargetDown
from labkit.verify.parse import ParseError, parse
from labkit.verify.state import as_dict, to_models


@dataclass(frozen=True)
class FactSpec:
    session: str
    command: str
    template: str | None = None
    model: str | None = None
    load: str | None = None  # "burst": a CPU-heavy command (a capture), run as a burst where labs share a machine


@dataclass(frozen=True)
class Platform:
    name: str
    sessions: dict[str, str]
    facts: dict[str, FactSpec]
    rejections: dict[str, tuple[str, ...]]
    # what the platform's outputs do not show, by the name a check asks for (`Context.shown`): a check needing it is
    # not applicable there; anything else missing from a parse is a failure
    hidden: frozenset[str] = frozenset()

    def rejected(self, session: str, output: str) -> str | None:
        """The line by which the session refused a command, if it did."""
        prefixes = self.rejections.get(session, ())
        return next((line for line in output.splitlines() if line.strip().startswith(prefixes)), None) \
            if prefixes else None


@cache
def platform(name: str) -> Platform:
    raw = descriptors()[name]
    specs = {k: FactSpec(**v) for k, v in (raw.get("facts", {}) | raw.get("actions", {})).items()}
    rejections = {session: tuple(prefixes) for session, prefixes in raw.get("rejections", {}).items()}
    return Platform(name=name, sessions=raw["sessions"], facts=specs, rejections=rejections,
                    hidden=frozenset(raw.get("hidden", ())))


@cache
def known_facts() -> frozenset[str]:
    """Every fact some platform provides: a check asking for another has a typo, not a target it does not suit."""
    return frozenset(fact for name in descriptors() for fact in platform(name).facts)


class Unsupported(Exception):
    """The node's platform cannot provide a fact the check needs (a router has no lab-only tools), or does not show
    what it needs (`Platform.hidden`): the check is not applicable to the target."""


class Evidence:
    """Raw outputs and parsed data, one numbered pair of files per command, secrets redacted."""

    def __init__(self, root: Path, secrets: tuple[str, ...]):
        self.root = root
        self.secrets = tuple(sorted((s for s in secrets if s), key=len, reverse=True))  # none replaced in part
        self.count = 0
        self.lock = threading.Lock()

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<redacted>")
        return text

    def save(self, node: str, command: str, raw: str, parsed: object) -> str:
        with self.lock:
            self.count += 1
            number = self.count
        slug = re.sub(r"[^a-z0-9]+", "-", command.lower()).strip("-")[:48]
        base = self.root / node / f"{number:04d}-{slug}"
        base.parent.mkdir(parents=True, exist_ok=True)
        base.with_suffix(".txt").write_text(self.redact(f"# {node}: {command}\n{raw}"))
        if parsed is not None:
            base.with_suffix(".json").write_text(self.redact(json.dumps(parsed, indent=2, default=str)))
        return str(base.relative_to(self.root.parent)) + ".txt"


Injector = Callable[..., str]  # (node, fault, step, waited=..., **params) -> what the node printed
Waited = Callable[[float], None]  # told how long a step waited for its turn on a shared machine


class Load(Protocol):
    """How a target shares its machine: heavy steps and measured windows wait their turn (labkit.runtime.scheduler)
    where several labs share one; a target of its own (real routers) never waits."""

    def burst(self, what: str, waited: Waited, cores: int | None = None) -> contextlib.AbstractContextManager[None]: ...

    def window(self, what: str, waited: Waited, keep: bool = False) -> contextlib.AbstractContextManager[None]:
        """`keep`: the window is still held after the block, for the target's next one, until `release`."""

    def release(self) -> None:
        """A kept window released."""


class Unshared:
    """A target alone on its machine: nothing waits."""

    @contextlib.contextmanager
    def burst(self, what: str, waited: Waited, cores: int | None = None) -> Iterator[None]:
        yield

    @contextlib.contextmanager
    def window(self, what: str, waited: Waited, keep: bool = False) -> Iterator[None]:
        yield

    def release(self) -> None:
        return None


def _ignored(seconds: float) -> None:
    return None


class Collector:
    """Gathers facts per node through each node's platform definition; injects faults where a runtime
    can (a lab), which real devices cannot."""

    def __init__(self, sessions: Sessions, node_platform: dict[str, str], evidence: Evidence,
                 injector: Injector | None = None, load: Load | None = None):
        self.sessions = sessions
        self.node_platform = node_platform
        self.evidence = evidence
        self.injector = injector
        self.load = load or Unshared()
        self.down: str | None = None  # why the whole target stopped answering, once it did

    def mark_down(self, reason: str) -> None:
        """The target stopped answering: running commands end and every later fact fails with `reason`."""
        self.down = reason
        self.sessions.abort(reason)

    def inject(self, node: str, fault: str, sink: list[str], step: str = "apply", waited: Waited | None = None,
               **params: object) -> None:
        """Run a step (apply, restore) of a fault; the node's sessions are reopened on next use (its daemons may
        have restarted). `waited` is told how long a heavy step waited for its turn."""
        if self.down:
            raise TargetDown(self.down)
        if self.injector is None:
            raise Unsupported(f"cannot {step} {fault} on {node}: only a lab runtime injects faults")
        output = self.injector(node, fault, step, waited=waited, **params)
        sink.append(self.evidence.save(node, f"{step} {fault} {params or ''}".strip(), output, None))
        self.sessions.reset(node)

    def shown(self, node: str, what: str) -> bool:
        """Whether the node's platform shows `what` in its outputs (see Platform.hidden)."""
        return what not in platform(self.node_platform[node]).hidden

    def run(self, node: str, fact: str, sink: list[str], timeout: float | None = None, waited: Waited | None = None,
            **params: object) -> list:
        """The fact's model objects (evidence file names go to `sink`); ParseError if not understood. A heavy
        fact's command runs as a burst of one core, the node's (`waited` is told how long it waited for its turn)."""
        if self.down:
            raise TargetDown(self.down)
        node_platform = platform(self.node_platform[node])
        spec = node_platform.facts.get(fact)
        if spec is None and fact not in known_facts():
            raise LookupError(f"no platform has a `{fact}` fact (known: {', '.join(sorted(known_facts()))})")
        if spec is None:
            raise Unsupported(f"{node} ({node_platform.name}) has no `{fact}` fact: this check needs what "
                              "only the lab provides")
        command = spec.command.format(**params)
        turn = self.load.burst(f"{fact} on {node}", waited or _ignored, cores=1) if spec.load == "burst" else \
            contextlib.nullcontext()
        with turn:
            try:
                raw = self.sessions.get(node, spec.session).send(command, timeout=timeout)
            except LabkitError as exc:  # the way to the node failed (a VM that stopped answering): a failure, retried
                self.sessions.reset(node)
                raise SessionLost(f"{node}: `{command}` got no answer: {exc}") from exc
        refusal = node_platform.rejected(spec.session, raw)
        if refusal:
            sink.append(self.evidence.save(node, command, raw, None))
            raise ParseError(f"{node} refused `{command}`: {refusal.strip()}")
        if spec.template is None:
            sink.append(self.evidence.save(node, command, raw, None))
            return []
        try:
            parsed = parse(spec.template, raw)
        except Exception:
            sink.append(self.evidence.save(node, command, raw, None))
            raise
        models = to_models(spec.model, parsed)
        sink.append(self.evidence.save(node, command, raw, {"parsed": parsed, "state": as_dict(models)}))
        return models
