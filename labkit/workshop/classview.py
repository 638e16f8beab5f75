"""The instructor's view of the class: per student the exercise they are on, how many they passed, the checks
failing at their last check, the hints used and when they last made progress; as a terminal table and as a
static HTML page (labkit/workshop/templates/class.html.j2)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import jinja2

from labkit.workshop.progress import Progress


@dataclass(frozen=True)
class Row:
    student: str
    exercise: str
    done: bool  # the exercise they are on passed at their last check
    passed: int
    failing: tuple[str, ...]
    hints_used: int
    last_progress: str  # ISO time, or "-"
    idle: str  # how long ago, e.g. "12 min"


def _ago(stamp: str | None, now: dt.datetime) -> str:
    if not stamp:
        return "-"
    minutes = int((now - dt.datetime.fromisoformat(stamp)).total_seconds() // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"


def class_rows(students: list[Progress], now: dt.datetime | None = None) -> list[Row]:
    """One row per student, in the order given."""
    now = now or dt.datetime.now(dt.UTC)
    rows = []
    for progress in students:
        attempt = progress.exercises.get(progress.current) if progress.current else None
        done = attempt is not None and attempt.passed is not None and not attempt.failing
        rows.append(Row(progress.student, progress.current or "-", done, progress.passed_count(),
                        tuple(attempt.failing) if attempt else (), attempt.hints_used if attempt else 0,
                        progress.last_progress or "-", _ago(progress.last_progress, now)))
    return rows


COLUMNS = ("student", "exercise", "passed", "failing checks", "hints", "last progress")


def class_table(rows: list[Row], exercises: int) -> str:
    """The class as a terminal table."""
    cells = [COLUMNS] + [(r.student, r.exercise + (" (passed)" if r.done else ""), f"{r.passed}/{exercises}",
                          ", ".join(r.failing) or "-", str(r.hints_used), f"{r.idle} ago" if r.idle != "-" else "-")
                         for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    return "\n".join(lines if rows else [*lines, "(no student has started an exercise yet)"]) + "\n"


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("labkit.workshop", "templates"),
                              undefined=jinja2.StrictUndefined, autoescape=True, trim_blocks=True,
                              lstrip_blocks=True)


def class_html(rows: list[Row], exercises: int, generated: str) -> str:
    """The class as a static HTML page."""
    return _environment().get_template("class.html.j2").render(rows=rows, exercises=exercises,
                                                               columns=COLUMNS, generated=generated)
