"""Each student's progress, one JSON file per student in the workshop's state folder ($LABKIT_WORKSHOP_DIR,
default reports/workshop/): the exercise they are on and the lab it runs in, and per exercise when it was
started and passed, the hints used, when it was last checked and which checks failed then, whether the solution
was shown. `last_progress` moves on a start, a pass, and a check that fails fewer checks than the one before."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from labkit.errors import LabkitError


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class Attempt:
    """One student's work on one exercise."""

    started: str
    passed: str | None = None
    hints_used: int = 0
    checked: str | None = None
    failing: list[str] = field(default_factory=list)  # the checks that failed at the last check
    solution_shown: str | None = None


@dataclass
class Progress:
    student: str
    current: str | None = None  # the exercise the student is on
    lab: str | None = None  # the lab it runs in (`<lab>-<student>`)
    exercises: dict[str, Attempt] = field(default_factory=dict)
    last_progress: str | None = None

    def attempt(self, exercise: str) -> Attempt:
        """The student's attempt at the exercise; LabkitError if they never started it."""
        if exercise not in self.exercises:
            raise LabkitError(f"{self.student} has not started {exercise}: `labkit workshop start {exercise}`")
        return self.exercises[exercise]

    def current_attempt(self) -> tuple[str, Attempt]:
        if self.current is None:
            raise LabkitError(f"{self.student} has started no exercise: `labkit workshop list` shows them, "
                              "`labkit workshop start NN` starts one")
        return self.current, self.attempt(self.current)

    def started(self, exercise: str, lab: str) -> None:
        """A (re)start: the attempt begins again, but keeps its hints and its pass."""
        before = self.exercises.get(exercise)
        self.exercises[exercise] = Attempt(started=now(), passed=before.passed if before else None,
                                           hints_used=before.hints_used if before else 0,
                                           solution_shown=before.solution_shown if before else None)
        self.current, self.lab = exercise, lab
        self.last_progress = now()

    def checked(self, exercise: str, failing: list[str]) -> None:
        attempt = self.attempt(exercise)
        if not failing and attempt.passed is None:
            attempt.passed = now()
        if not failing or len(failing) < len(attempt.failing) or attempt.checked is None:
            self.last_progress = now()
        attempt.checked, attempt.failing = now(), failing

    def passed_count(self) -> int:
        return sum(1 for a in self.exercises.values() if a.passed)


class ProgressStore:
    """The progress files of every student in one folder."""

    def __init__(self, folder: Path):
        self.folder = folder

    def path(self, student: str) -> Path:
        return self.folder / f"{student}.json"

    def load(self, student: str) -> Progress:
        """The student's progress; a new one if they have none yet."""
        try:
            raw = json.loads(self.path(student).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Progress(student)
        except (OSError, ValueError) as exc:
            raise LabkitError(f"{self.path(student)}: unreadable progress file ({exc}); remove it to start over") \
                from None
        attempts = {name: Attempt(**a) for name, a in raw.pop("exercises", {}).items()}
        return Progress(**raw, exercises=attempts)

    def save(self, progress: Progress) -> None:
        """Written whole, then moved in place: a reader never sees half a file."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path(progress.student)
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(asdict(progress), indent=2) + "\n", encoding="utf-8")
        partial.replace(target)

    def everyone(self) -> list[Progress]:
        """Every student's progress, by name."""
        return [self.load(path.stem) for path in sorted(self.folder.glob("*.json"))]
