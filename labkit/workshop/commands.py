"""`labkit workshop ...`: the student's commands (list, start, check, hint, reset, solution, shell, stop) and the
instructor's (class). Every command takes --student NAME (default: $LABKIT_STUDENT, else the login name).

The course is the folder $LABKIT_COURSE_DIR (default workshop/), progress is kept in $LABKIT_WORKSHOP_DIR
(default reports/workshop/). `check` exits 0 when every check passed, 1 when one failed (the student's
configuration is not there yet), 2 when the checks could not judge (the lab is not up, or not usable)."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from labkit import settings
from labkit.console import Console
from labkit.errors import LabkitError
from labkit.platforms import lab_node
from labkit.runtime.base import Runtime
from labkit.runtime.choose import CHOICES, require_root
from labkit.verify.deadlines import BGP
from labkit.workshop import lab
from labkit.workshop.classview import class_html, class_rows, class_table
from labkit.workshop.exercise import Exercise, exercise_folder, exercise_folders, load_exercise
from labkit.workshop.progress import Progress, ProgressStore, now
from labkit.workshop.student import student_name

UNUSABLE = 2


def course_dir() -> Path:
    return settings.course_dir()


def store() -> ProgressStore:
    return ProgressStore(settings.workshop_dir())


def roots() -> lab.Roots:
    return lab.Roots(settings.build_root(), settings.reports_root())


def _current(args: argparse.Namespace) -> tuple[Progress, Exercise]:
    """The student's progress and the exercise they are on."""
    progress = store().load(student_name(args.student))
    name, _ = progress.current_attempt()
    return progress, load_exercise(course_dir() / name)


def _lab(exercise: Exercise, progress: Progress) -> tuple[Runtime | None, str]:
    """The runtime of the student's lab for the exercise (None if it is not up), and the lab's name."""
    design = exercise.student_design(progress.student)
    return lab.running(design.lab, settings.build_root()), design.lab


def cmd_list(args: argparse.Namespace, console: Console) -> int:
    progress = store().load(student_name(args.student))
    for folder in exercise_folders(course_dir()):
        exercise = load_exercise(folder)
        attempt = progress.exercises.get(exercise.name)
        state = "passed" if attempt and attempt.passed else "started" if attempt else ""
        mark = "*" if exercise.name == progress.current else " "
        print(f"{mark} {exercise.name:<28} {state:<8} {exercise.title}  [{exercise.design.origin}]")
    return 0


def cmd_start(args: argparse.Namespace, console: Console) -> int:
    require_root()
    student = student_name(args.student)
    exercise = load_exercise(exercise_folder(course_dir(), args.exercise))
    design = exercise.student_design(student)
    progress = store().load(student)
    if progress.lab and progress.lab != design.lab:
        _stop(progress.lab, console)  # one lab per student: the previous exercise's goes
    started = time.monotonic()
    lab.start(exercise, design, roots(), args.runtime, console)
    progress.started(exercise.name, design.lab)
    store().save(progress)
    print(_start_message(exercise, design.lab, time.monotonic() - started))
    return 0


def _start_message(exercise: Exercise, lab_name: str, took_s: float) -> str:
    nodes = " ".join(exercise.design.node_names)
    return "\n".join([
        f"exercise {exercise.name}: {exercise.title}",
        "",
        exercise.goal,
        "",
        f"your lab {lab_name} is ready ({took_s:.0f} s); its nodes: {nodes}",
        f"the guide:        {exercise.guide}",
        "open a node:      labkit workshop shell NODE   (its CLI; add --program sh for a shell)",
        "are you done?     labkit workshop check        (--wait gives a change the time the design's timers need)",
        "stuck?            labkit workshop hint",
        "start over:       labkit workshop reset        (your changes on the nodes are undone)",
        f"(the lab's routers converge within about {_converge_s(exercise):.0f} s of a start or reset)",
    ])


def _converge_s(exercise: Exercise) -> float:
    """About how long the routers take to converge after a start or reset: BGP up from scratch (the design's
    timers)."""
    return BGP(exercise.design)


def cmd_check(args: argparse.Namespace, console: Console) -> int:
    progress, exercise = _current(args)
    runtime, lab_name = _lab(exercise, progress)
    problem = _unusable(runtime, lab_name, exercise)
    if problem:
        print(f"cannot check {exercise.name}: {problem}")
        return UNUSABLE
    design = exercise.student_design(progress.student)
    judged = lab.judge(exercise, design, runtime, roots(), wait=args.wait)
    errors = [j for j in judged if j.result.status not in ("pass", "fail")]
    for j in judged:
        print(_verdict(j, args.wait))
    failing = [j.check.check.id for j in judged if not j.passed]
    progress.checked(exercise.name, failing)
    store().save(progress)
    if errors:
        print(f"\n{len(errors)} checks could not run (tell the instructor; details in "
              f"{roots().evidence(design, 'check')}/)")
        return UNUSABLE
    if failing:
        print(f"\n{len(judged) - len(failing)} of {len(judged)} checks pass. `labkit workshop hint` gives a hint.")
        return 1
    print(f"\nexercise {exercise.name} done: every check passes.")
    return 0


def _unusable(runtime: Runtime | None, lab_name: str, exercise: Exercise) -> str | None:
    """Why the lab cannot be judged (not up, a node or daemon not running), told apart from a wrong configuration."""
    if runtime is None:
        return f"your lab {lab_name} is not up: this is not about your configuration; " \
               f"`labkit workshop start {exercise.name}` starts it"
    broken = [_what_stopped(node, daemons) for node, daemons in runtime.status().items()
              if not daemons or "down" in daemons.values()]
    if broken:
        return (f"your lab {lab_name} is not usable ({'; '.join(broken)}): the checks cannot judge your "
                "configuration; `labkit workshop reset` restarts the lab at the exercise's start")
    return None


def _what_stopped(node: str, daemons: dict[str, str]) -> str:
    if not daemons:
        return f"{node} is not running"
    return f"{node}: {', '.join(d for d, state in daemons.items() if state != 'up')} stopped"


def _verdict(judged: lab.Judged, waited: bool) -> str:
    result, check = judged.result, judged.check
    if judged.passed:
        return f"PASS  {check.pass_text}"
    if result.status != "fail":
        return f"????  {check.fail_text}\n      the check could not run: {result.reason.splitlines()[0]}"
    settle = "" if waited else (f"\n      (a change can take up to {check.check.deadline_s:.0f} s to show, from the "
                                "design's timers: `labkit workshop check --wait` waits that long)")
    return f"FAIL  {check.fail_text}\n      why: {result.reason}{settle}"


def cmd_hint(args: argparse.Namespace, console: Console) -> int:
    progress, exercise = _current(args)
    attempt = progress.attempt(exercise.name)
    shown = min(attempt.hints_used, len(exercise.hints) - 1)
    print(f"hint {shown + 1} of {len(exercise.hints)} for {exercise.name}:\n{exercise.hints[shown]}")
    if attempt.hints_used >= len(exercise.hints) - 1:
        print("\n(that is the last hint; `labkit workshop solution` shows the reference solution)")
    attempt.hints_used = min(attempt.hints_used + 1, len(exercise.hints))
    store().save(progress)
    return 0


def cmd_reset(args: argparse.Namespace, console: Console) -> int:
    require_root()
    progress, exercise = _current(args)
    runtime, lab_name = _lab(exercise, progress)
    if runtime is None:
        raise LabkitError(f"your lab {lab_name} is not up: `labkit workshop start {exercise.name}` starts it")
    started = time.monotonic()
    lab.reset(exercise, exercise.student_design(progress.student), runtime, roots(), console)
    print(f"{exercise.name} is back at its start ({time.monotonic() - started:.0f} s); the routers converge within "
          f"about {_converge_s(exercise):.0f} s")
    return 0


def cmd_solution(args: argparse.Namespace, console: Console) -> int:
    progress, exercise = _current(args)
    print(f"reference solution of {exercise.name}: {exercise.title}\n\n{exercise.explanation}\n")
    for number, step in enumerate(exercise.solution, start=1):
        if step.shell is not None:
            print(f"{number}. on {step.node}: `labkit workshop shell {step.node} --program sh`, then:\n"
                  f"     {step.shell}")
        else:
            print(f"{number}. on {step.node}: `labkit workshop shell {step.node}` (its CLI), then:")
            print("\n".join(f"     {line}" for line in step.cli))
    progress.attempt(exercise.name).solution_shown = now()
    store().save(progress)
    if args.apply:
        runtime, lab_name = _lab(exercise, progress)
        problem = _unusable(runtime, lab_name, exercise)
        if problem:
            print(f"cannot apply the solution: {problem}")
            return UNUSABLE
        lab.apply_solution(exercise, runtime, console)
        print("\napplied; `labkit workshop check --wait` shows when the lab has taken it")
    return 0


def cmd_shell(args: argparse.Namespace, console: Console) -> int:
    progress, exercise = _current(args)
    runtime, lab_name = _lab(exercise, progress)
    if runtime is None:
        raise LabkitError(f"your lab {lab_name} is not up: `labkit workshop start {exercise.name}` starts it")
    runtime.mark_touched([args.node])
    argv = runtime.attach_argv(args.node, [args.program or lab_node().cli])
    os.execvp(argv[0], argv)
    return 1  # not reached


def cmd_stop(args: argparse.Namespace, console: Console) -> int:
    require_root()
    progress = store().load(student_name(args.student))
    if progress.lab:
        _stop(progress.lab, console)
        progress.lab = None
        store().save(progress)
    else:
        console.say(f"{progress.student} has no lab: nothing to do")
    return 0


def _stop(lab_name: str, console: Console) -> None:
    """The student's lab of that name down, if it runs."""
    runtime = lab.running(lab_name, settings.build_root())
    if runtime is not None:
        runtime.down(console.say)
        console.say(f"lab {lab_name} is down")


def cmd_class(args: argparse.Namespace, console: Console) -> int:
    rows = class_rows(store().everyone())
    exercises = len(exercise_folders(course_dir()))
    print(class_table(rows, exercises), end="")
    if args.html:
        Path(args.html).write_text(class_html(rows, exercises, now()), encoding="utf-8")
        console.say(f"wrote {args.html}")
    return 0


def cmd_bench(args: argparse.Namespace, console: Console) -> int:
    """N students' labs of one exercise at once in the shared microVM: each start, the guest memory and idle CPU
    per lab, a quick check, each reset after the solution; reports/workshop-bench/bench.json."""
    from labkit.workshop.bench import bench_class, table

    require_root()
    name = exercise_folder(course_dir(), args.exercise).name
    if args.students < 1:
        raise LabkitError(f"--students {args.students}: give at least 1")
    print(table(bench_class(name, args.students, console, settings.reports_root() / "workshop-bench")), end="")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """`labkit workshop ACTION`, one sub-command per action."""
    top = sub.add_parser("workshop", help="run a course of exercises: each student a lab of their own",
                         description=__doc__.split("\n\n")[0])
    actions = top.add_subparsers(dest="action", required=True)

    def add(name: str, func, text: str, example: str) -> argparse.ArgumentParser:
        p = actions.add_parser(name, help=text, description=text, epilog=f"example: labkit workshop {example}")
        p.add_argument("--student", help="the student's name, 1-8 lower-case letters or digits (default: "
                       "$LABKIT_STUDENT, else the login name)")
        p.set_defaults(func=func)
        return p

    add("list", cmd_list, "the course's exercises, and which the student started and passed", "list --student anna")
    p = add("start", cmd_start, "the student's lab up for an exercise (a running one is reset, not rebooted), "
            "its start state applied; prints what to do", "start 05 --student anna")
    p.add_argument("exercise", help="its number (05), name (05-hub-redirect) or slug")
    p.add_argument("--runtime", choices=CHOICES, default=settings.default_runtime())
    p = add("check", cmd_check, "run the exercise's checks: exit 0 all pass, 1 one fails, 2 the lab cannot be "
            "judged", "check --wait --student anna")
    p.add_argument("--wait", action="store_true", help="give each check the time the design's timers need to show "
                   "a change (default: about 10 s)")
    add("hint", cmd_hint, "the next hint for the exercise", "hint --student anna")
    add("reset", cmd_reset, "back to the exercise's start, in place (no reboot): the student's changes undone",
        "reset --student anna")
    p = add("solution", cmd_solution, "print the reference solution (--apply: type it in for the student)",
            "solution --student anna")
    p.add_argument("--apply", action="store_true", help="apply it to the student's lab")
    p = add("shell", cmd_shell, "open a node of the student's lab: its CLI, or --program sh",
            "shell spoke3 --program sh --student anna")
    p.add_argument("node")
    p.add_argument("--program", help="the program to run instead of the node's CLI, e.g. sh")
    add("stop", cmd_stop, "the student's lab down (the shared microVM stays warm)", "stop --student anna")
    p = actions.add_parser("bench", help="measure a class on this machine: N students' labs of an exercise at once "
                           "(start, memory, idle CPU, reset)", description=cmd_bench.__doc__,
                           epilog="example: labkit workshop bench 06 --students 3")
    p.add_argument("exercise", help="its number (06), name or slug")
    p.add_argument("--students", type=int, default=3, help="how many labs at once (default 3)")
    p.set_defaults(func=cmd_bench)
    p = add("class", cmd_class, "every student: exercise, passed, failing checks, hints, last progress",
            "class --html /var/www/html/class.html")
    p.add_argument("--html", metavar="FILE", help="also write the table as a static HTML page")
