"""An exercise of the course: its folder workshop/NN-slug/ holds `guide.md` (what the student reads),
`exercise.yml` (the design it starts from, the faults applied at start, the checks that say it is done, hints)
and `solution.yml` (the reference solution: per node, what a student types in `labkit workshop shell`, and why).

Both YAML files are validated once, when loaded: every problem is a line `file:line: field.path: reason`, as in
a design file (labkit.design.fields). Values of the design a solution needs (addresses, keys, the AS) are written
as Jinja2 expressions and rendered with the node's values, as the fault library's scripts are."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from labkit.design import Design, load_design
from labkit.design.fields import Fields, Invalid, Problems, choice, kind, text
from labkit.design.loader import load_yaml
from labkit.errors import DesignError, LabkitError
from labkit.platforms import lab_node
from labkit.render.clab import topology
from labkit.render.faults import fault_names, fault_script, fault_values
from labkit.render.templates_env import environment
from labkit.verify.engine import Check
from labkit.workshop.checks import build_check
from labkit.workshop.student import student_lab

FOLDER_NAME = r"\d\d-[a-z0-9-]+"
EXERCISE_FILE, SOLUTION_FILE, GUIDE_FILE = "exercise.yml", "solution.yml", "guide.md"


@dataclass(frozen=True)
class StartStep:
    """A fault of the library applied to a node when the exercise starts (and again after each reset)."""

    fault: str
    node: str
    params: dict[str, Any]


@dataclass(frozen=True)
class ExerciseCheck:
    """A check that says the exercise is done, with what the student is told when it passes and when it fails."""

    check: Check
    pass_text: str
    fail_text: str
    fails_at_start: bool  # False: a control that holds from the start (the rest of the lab undisturbed)


@dataclass(frozen=True)
class SolutionStep:
    """What a student types on one node: lines in its CLI (the lab platform's `cli` session), or one shell command
    line."""

    node: str
    cli: tuple[str, ...]
    shell: str | None

    def argv(self) -> list[str]:
        """The step as one command run in the node."""
        if self.shell is not None:
            return ["sh", "-c", self.shell]
        return lab_node().batch_argv(self.cli)


@dataclass(frozen=True)
class Exercise:
    name: str  # its folder's name: NN-slug
    folder: Path
    title: str
    goal: str
    design: Design  # as the course states it; a student's copy is `student_design`
    converge: bool  # the start steps wait for the designed state (they need a converged lab)
    start: tuple[StartStep, ...]
    checks: tuple[ExerciseCheck, ...]
    hints: tuple[str, ...]
    explanation: str
    solution: tuple[SolutionStep, ...]

    @property
    def guide(self) -> Path:
        return self.folder / GUIDE_FILE

    def student_design(self, student: str) -> Design:
        """The exercise's design as the student's own lab (`<lab>-<student>`)."""
        given = self.design.overrides
        return load_design(self.design.source, [*given, f"lab={student_lab(self.design.lab, student)}"])


def _mapping_of_scalars(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or any(isinstance(v, (dict, list)) or v is None for v in value.values()):
        raise Invalid(f"must be a mapping of names to single values, found {kind(value)}")
    return dict(value)


def _text_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise Invalid(f"must be a non-empty list of texts, found {kind(value)}")
    return tuple(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"must be true or false, found {value!r}")
    return value


def _checked(fields: Fields, key: str, judge: Callable[[], Any]) -> Any:
    """What `judge` returns, or None after recording its Invalid or LabkitError at `key`."""
    try:
        return judge()
    except (Invalid, LabkitError) as exc:
        fields.problems.add(fields.key_line(key), fields.sub(key), str(exc))
        return None


def _interfaces(design: Design) -> dict[str, set[str]]:
    """Each node's link interfaces, as the lab names them."""
    found: dict[str, set[str]] = {}
    for link in topology(design)["topology"]["links"]:
        for end in link["endpoints"]:
            node, interface = end.split(":")
            found.setdefault(node, set()).add(interface)
    return found


def _node(design: Design) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in design.node_names:
            raise Invalid(f"{value!r} is not a node of {design.origin}; nodes: {', '.join(design.node_names)}")
        return value

    return convert


def _start_step(design: Design, fields: Fields) -> StartStep | None:
    fault = fields.take("fault", choice(*fault_names()))
    node = fields.take("node", _node(design))
    params = fields.take("params", _mapping_of_scalars, default={})
    fields.finish()
    if fault is None or node is None or params is None:
        return None
    interface = params.get("interface")
    if interface is not None and interface not in _interfaces(design).get(node, set()):
        known = ", ".join(sorted(_interfaces(design).get(node, ()))) or "none"
        fields.problems.add(fields.key_line("params"), fields.sub("params.interface"),
                            f"{node} has no interface {interface!r}; its links: {known}")
        return None
    rendered = _checked(fields, "fault", lambda: fault_script(fault, "apply", fault_values(design, node), **params))
    return None if rendered is None else StartStep(fault, node, params)


def _exercise_check(design: Design, fields: Fields) -> ExerciseCheck | None:
    name = fields.take("check", text())
    params = fields.take("params", _mapping_of_scalars, default={})
    passed = fields.take("pass", text())
    failed = fields.take("fail", text())
    at_start = fields.take("at_start", choice("fail", "pass"), default="fail")
    fields.finish()
    if name is None or params is None:
        return None
    check = _checked(fields, "check", lambda: build_check(design, name, params))
    if check is None or passed is None or failed is None or at_start is None:
        return None
    return ExerciseCheck(check, passed.strip(), failed.strip(), at_start == "fail")


def _items(fields: Fields, key: str, read: Callable[[Fields], Any], required: bool = True) -> list[Any]:
    """Each item of the list under `key` read as a mapping of fields; None for an item with problems."""
    if not required and not fields.has(key):
        fields.taken.add(key)
        return []
    return [read(Fields(fields.problems, item, path, line)) for path, line, item in fields.items(key)]


def _design(fields: Fields, folder: Path) -> Design | None:
    path = fields.take("design", text())
    overrides = fields.take("set", _text_list, default=())
    if path is None or overrides is None:
        return None
    # one spelling of the file for every exercise on it (its generated files name it): switching exercises on a
    # running lab then changes no node's files
    design_file = Path(os.path.normpath(folder / path))
    return _checked(fields, "design", lambda: _loaded(design_file, list(overrides)))


def _loaded(path: Path, overrides: list[str]) -> Design:
    try:
        return load_design(path, overrides)
    except DesignError as exc:
        raise Invalid("the design does not load: " + "; ".join(exc.problems)) from None


def _solution(design: Design, fields: Fields) -> SolutionStep | None:
    node = fields.take("node", _node(design))
    cli = fields.take("cli", _text_list, default=None)
    shell = fields.take("shell", text(), default=None)
    fields.finish()
    if node is None:
        return None
    if (cli is None) == (shell is None):
        fields.problems.add(fields.line, fields.path, "give either `cli` (the lines typed in the node's CLI) or "
                            "`shell` (one command line typed in its shell)")
        return None
    values = fault_values(design, node)
    key = "shell" if shell is not None else "cli"
    lines = _checked(fields, key, lambda: [_rendered(line, values) for line in (cli or [shell])])
    if lines is None:
        return None
    return SolutionStep(node, tuple(lines) if cli else (), lines[0] if shell is not None else None)


def _rendered(line: str, values: dict) -> str:
    try:
        return environment().from_string(line).render(values).strip()
    except jinja2.TemplateError as exc:
        raise Invalid(f"{line!r}: {exc}") from None


def load_exercise(folder: Path) -> Exercise:
    """The exercise in `folder`, validated; DesignError listing every problem of its files."""
    problems, solved = Problems(folder / EXERCISE_FILE), Problems(folder / SOLUTION_FILE)
    if not re.fullmatch(FOLDER_NAME, folder.name):
        problems.add(None, "", f"the folder {folder.name!r} must be named NN-slug (two digits, lower-case words)")
    if not (folder / GUIDE_FILE).is_file() or not (folder / GUIDE_FILE).read_text(encoding="utf-8").strip():
        problems.add(None, "", f"{folder / GUIDE_FILE} is missing or empty: every exercise has a guide")
    documents = [_yaml(problems), _yaml(solved)]
    if problems.lines or solved.lines:
        raise DesignError(problems.lines + solved.lines)
    top = Fields(problems, documents[0], "")
    title = top.take("title", text())
    goal = top.take("goal", text())
    design = _design(top, folder)
    converge = top.take("converge", _flag, default=False)
    start = _items(top, "start", lambda f: _start_step(design, f), required=False) if design else []
    checks = _items(top, "checks", lambda f: _exercise_check(design, f)) if design else []
    hints = top.take("hints", _text_list)
    top.finish()
    if design and checks and all(checks) and not any(c.fails_at_start for c in checks):
        top.problems.add(top.key_line("checks"), "checks", "no check fails at the start: the exercise would be done "
                         "before it begins; mark the controls `at_start: pass`, the rest fail")
    answer = Fields(solved, documents[1], "")
    explanation = answer.take("explanation", text())
    steps = _items(answer, "steps", lambda f: _solution(design, f)) if design else []
    answer.finish()
    lines = problems.lines + solved.lines
    if lines:
        raise DesignError(lines)
    return Exercise(folder.name, folder, title.strip(), goal.strip(), design, converge, tuple(start), tuple(checks),
                    hints, explanation.strip(), tuple(steps))


def _yaml(problems: Problems) -> Any:
    """The YAML document of the problems' file; a missing file or a syntax error recorded as a problem."""
    if not problems.source.is_file():
        problems.add(None, "", "is missing: every exercise has exercise.yml and solution.yml")
        return None
    try:
        return load_yaml(problems.source)
    except DesignError as exc:
        problems.lines.extend(exc.problems)
        return None


def exercise_folders(course: Path) -> list[Path]:
    """The exercise folders of the course, in order."""
    if not course.is_dir():
        raise LabkitError(f"no course at {course}/ (set LABKIT_COURSE_DIR to the folder of the exercises)")
    return sorted(p for p in course.iterdir() if p.is_dir() and (p / EXERCISE_FILE).exists())


def load_course(course: Path) -> list[Exercise]:
    """Every exercise of the course, validated; one DesignError listing every problem of every exercise."""
    exercises, lines = [], []
    for folder in exercise_folders(course):
        try:
            exercises.append(load_exercise(folder))
        except DesignError as exc:
            lines += exc.problems
    if lines:
        raise DesignError(lines)
    return exercises


def exercise_folder(course: Path, given: str) -> Path:
    """The folder an exercise is called by: its full name (05-hub-redirect), its number (05 or 5) or its slug."""
    folders = exercise_folders(course)
    for folder in folders:
        number, _, slug = folder.name.partition("-")
        if given in (folder.name, number, slug) or (given.isdigit() and int(given) == int(number)):
            return folder
    raise LabkitError(f"no exercise {given!r} in {course}/; `labkit workshop list` shows them")
