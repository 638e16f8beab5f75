"""The `labkit` command: generate, up, verify, run, status, exec, shell, down."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from labkit.console import Console
from labkit.design import Design, load_design
from labkit.errors import DesignError, LabkitError
from labkit.render.generate import BuildDir, generate
from labkit.runtime.base import Runtime
from labkit.runtime.choose import CHOICES, require_root, running_runtime, runtime_for
from labkit.runtime.labspec import read_lab

BUILD_ROOT = Path(os.environ.get("LABKIT_BUILD_DIR", "build"))
REPORTS_ROOT = Path(os.environ.get("LABKIT_REPORTS_DIR", "reports"))


def _design_and_build(args: argparse.Namespace, console: Console) -> tuple[Design, BuildDir]:
    design = load_design(args.design)
    build = generate(design, BUILD_ROOT)
    console.say(f"generated {build.path} ({len(design.sites) + 1} nodes) from {design.source}")
    return design, build


def _running(design: Design) -> Runtime:
    spec = read_lab(BUILD_ROOT / design.lab / f"{design.lab}.clab.yml")
    runtime = running_runtime(spec)
    if runtime is None:
        raise LabkitError(f"lab {design.lab} is not running; `labkit up {design.source}` starts it")
    return runtime


def cmd_generate(args: argparse.Namespace, console: Console) -> int:
    _, build = _design_and_build(args, console)
    print(build.path)
    return 0


def bring_up(design: Design, build: BuildDir, requested: str, console: Console) -> Runtime:
    require_root()
    spec = read_lab(build.clab_file)
    runtime = runtime_for(spec, requested)
    if running_runtime(spec) is not None:
        if any(runtime.status().values()):
            raise LabkitError(f"lab {design.lab} is already running on runtime {runtime.name}; "
                              f"`labkit down {design.source}` stops it")
        console.say(f"cleaning up a stale record of lab {design.lab}")
        runtime.down(console.say)
    console.say(f"bringing up lab {design.lab} on runtime {runtime.name}")
    try:
        runtime.up(console.say)
    except BaseException:
        console.say("bring-up failed or was interrupted: removing what was started")
        runtime.down(console.say)
        raise
    return runtime


def cmd_up(args: argparse.Namespace, console: Console) -> int:
    design, build = _design_and_build(args, console)
    started = time.monotonic()
    bring_up(design, build, args.runtime, console)
    console.say(f"lab {design.lab} is up ({time.monotonic() - started:.1f}s); "
                f"`labkit shell {design.source} NODE` opens a node's vtysh")
    return 0


def cmd_verify(args: argparse.Namespace, console: Console) -> int:
    from labkit.verify.run import verify_lab

    design = load_design(args.design)
    runtime = _running(design)
    report = verify_lab(design, runtime, console, REPORTS_ROOT, timings={})
    return 0 if report.all_passed else 1


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    """generate + up + verify (+ down unless --keep)."""
    from labkit.verify.run import verify_lab

    design, build = _design_and_build(args, console)
    started = time.monotonic()
    runtime = bring_up(design, build, args.runtime, console)
    timings = {"bringup_s": round(time.monotonic() - started, 1)}
    try:
        report = verify_lab(design, runtime, console, REPORTS_ROOT, timings=timings)
    finally:
        if not args.keep:
            console.say(f"tearing lab {design.lab} down (--no-keep)")
            runtime.down(console.say)
    if args.keep:
        console.say(f"lab {design.lab} left running: `labkit down {design.source}` stops it")
    return 0 if report.all_passed else 1


def cmd_down(args: argparse.Namespace, console: Console) -> int:
    design = load_design(args.design)
    require_root()
    clab_file = BUILD_ROOT / design.lab / f"{design.lab}.clab.yml"
    if not clab_file.exists():  # the lab may run although its build directory was removed
        clab_file = generate(design, BUILD_ROOT).clab_file
    runtime = running_runtime(read_lab(clab_file))
    if runtime is None:
        console.say(f"lab {design.lab} is not running: nothing to do")
        return 0
    runtime.down(console.say)
    console.say(f"lab {design.lab} is down")
    return 0


def cmd_status(args: argparse.Namespace, console: Console) -> int:
    design = load_design(args.design)
    runtime = _running(design)
    states = runtime.status()
    print(f"lab {design.lab} on runtime {runtime.name}")
    for node, daemons in states.items():
        shown = " ".join(f"{d}:{s}" for d, s in sorted(daemons.items()) if d != "netns") or "-"
        print(f"  {node:<12} {'running' if daemons else 'not running':<12} {shown}")
    for key, value in runtime.resources().items():
        print(f"  {key}: {value:.0f}")
    return 0 if all(states.values()) and not any("down" in d.values() for d in states.values()) else 1


def cmd_exec(args: argparse.Namespace, console: Console) -> int:
    design = load_design(args.design)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise LabkitError("give the command after the node, e.g. `labkit exec DESIGN hub1 -- ip route`")
    result = _running(design).exec(args.node, command, timeout=args.timeout)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.rc


def cmd_shell(args: argparse.Namespace, console: Console) -> int:
    design = load_design(args.design)
    argv = _running(design).attach_argv(args.node, [args.program])
    os.execvp(argv[0], argv)
    return 1  # not reached


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="labkit", description="DMVPN reference lab kit for Eltex ESR routers")
    top.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    sub = top.add_subparsers(dest="command", required=True)

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("design", help="design file, e.g. topologies/phase3.yml")
        p.set_defaults(func=func)
        return p

    add("generate", cmd_generate, "write build/<lab>/: containerlab topology, node files, ESR configs")
    for name, func, text in (("up", cmd_up, "generate and start the lab; it stays up"),
                             ("run", cmd_run, "generate, start and verify the lab")):
        p = add(name, func, text)
        p.add_argument("--runtime", choices=CHOICES, default=os.environ.get("LABKIT_RUNTIME", "auto"))
        if name == "run":
            p.add_argument("--keep", action=argparse.BooleanOptionalAction, default=True,
                           help="leave the lab running afterwards (default) or tear it down")
    add("verify", cmd_verify, "run the scenario's verification suite against the running lab")
    add("status", cmd_status, "show each node's daemons")
    add("down", cmd_down, "stop the lab and remove everything it made (idempotent)")
    p = add("exec", cmd_exec, "run a command in a node")
    p.add_argument("node")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("command", nargs=argparse.REMAINDER)
    p = add("shell", cmd_shell, "open a node's vtysh (or --program sh)")
    p.add_argument("node")
    p.add_argument("--program", default="vtysh")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console = Console(quiet=args.quiet)
    try:
        return args.func(args, console)
    except DesignError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        return 2
    except LabkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
