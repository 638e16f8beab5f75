"""The `labkit` command: generate, run, up, verify, status, shell, exec, down, suite, plan, schema, graph, configs,
lint, provenance, diff, vm, bench, workshop, docs."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

from labkit import settings
from labkit.console import Console
from labkit.design import Design, load_design
from labkit.errors import DesignError, LabkitError
from labkit.platforms import lab_node
from labkit.render.generate import BuildDir, generate, generate_own
from labkit.runtime.base import Runtime, read_record
from labkit.runtime.bringup import bring_up
from labkit.runtime.choose import CHOICES, require_root, running_runtime
from labkit.runtime.labspec import read_lab


def _design(args: argparse.Namespace) -> Design:
    """The command's design file with the fields its `--set` options change."""
    return load_design(args.design, args.set)


def _design_and_build(args: argparse.Namespace, console: Console) -> tuple[Design, BuildDir]:
    design = _design(args)
    build = generate_own(design, settings.build_root(), args.force)
    console.say(f"generated {build.path} ({len(design.node_names)} nodes) from {design.origin}")
    return design, build


def _running(design: Design) -> Runtime:
    spec = read_lab(settings.build_root() / design.lab / f"{design.lab}.clab.yml")
    runtime = running_runtime(spec)
    if runtime is None:
        raise LabkitError(f"lab {design.lab} is not running; `labkit up {design.origin}` starts it")
    return runtime


def _same_nodes(design: Design, runtime: Runtime) -> None:
    """The running lab has the design's nodes: a lab started with `--set spokes.count=N` is verified as such."""
    running = {node.name for node in runtime.spec.nodes}
    if running != set(design.node_names):
        raise LabkitError(f"lab {design.lab} runs {len(running)} nodes, {design.origin} has "
                          f"{len(design.node_names)}: give the --set options the lab was started with")


def cmd_generate(args: argparse.Namespace, console: Console) -> int:
    _, build = _design_and_build(args, console)
    print(build.path)
    return 0


def cmd_plan(args: argparse.Namespace, console: Console) -> int:
    from labkit.plan.show import plan_yaml

    print(plan_yaml(_design(args)), end="")
    return 0


def cmd_suite(args: argparse.Namespace, console: Console) -> int:
    from labkit.verify.suites import suite_text

    print(suite_text(_design(args)), end="")
    return 0


def cmd_configs(args: argparse.Namespace, console: Console) -> int:
    from labkit.render.configs import out_of_sync, write_configs

    designs = [load_design(path) for path in args.designs]
    if args.check:
        problems = out_of_sync(designs, settings.configs_root())
        for line in problems:
            print(f"error: {line}", file=sys.stderr)
        if problems:
            print("error: the reference ESR configs are out of date; regenerate them with `make configs`",
                  file=sys.stderr)
            return 1
        console.say(f"{settings.configs_root()}/ matches {len(designs)} designs")
        return 0
    written = write_configs(designs, settings.configs_root())
    console.say(f"wrote {len(written)} ESR configurations under {settings.configs_root()}/")
    return 0


def cmd_diff(args: argparse.Namespace, console: Console) -> int:
    from labkit.diff import diff_designs, diff_revision, markdown_report, readdress_problem, text_report

    if (args.new is None) == (args.rev is None):
        raise LabkitError("give two design files (OLD NEW), or one design file and --rev REV")
    if args.rev:
        devices = diff_revision(Path(args.old), args.rev, args.lab_files)
        title = f"labkit diff {args.old} ({args.rev} -> working tree)"
    else:
        devices = diff_designs(Path(args.old), Path(args.new), args.lab_files)
        title = f"labkit diff {args.old} -> {args.new}"
    print(markdown_report(devices, title) if args.markdown else text_report(devices), end="")
    if args.check:
        problem = None if args.allow_readdress else readdress_problem(devices)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
        return 1 if problem else 0
    return 1 if any(d.status != "unchanged" for d in devices) else 0


def cmd_provenance(args: argparse.Namespace, console: Console) -> int:
    from labkit.platforms.esr.provenance import confirmed_share, status_counts

    total: Counter[str] = Counter()
    for files in _config_groups([Path(p) for p in args.paths]).values():
        for path in files:
            counts = status_counts(path.read_text(encoding="utf-8"))
            total += counts
            print(f"{path}: {_share_line(counts, confirmed_share(counts))}")
    print(f"total: {_share_line(total, confirmed_share(total))}")
    return 0


def _share_line(counts: Counter[str], share: float) -> str:
    detail = ", ".join(f"{counts[s]} {s}" for s in ("confirmed", "fixed", "assumed", "contradicted") if counts[s])
    return f"{sum(counts.values())} lines, {share:.1%} confirmed ({detail})"


def cmd_lint(args: argparse.Namespace, console: Console) -> int:
    from labkit.platforms.esr.lint.rules import lint
    from labkit.platforms.esr.running_config import load_esr_config

    groups = _config_groups([Path(p) for p in args.paths])
    findings = []
    for folder, files in groups.items():
        findings += lint([load_esr_config(f) for f in files])
        console.say(f"{folder}: {len(files)} configurations checked")
    for finding in findings:
        print(finding)
    console.say(f"{len(findings)} problems" if findings else "no problems found")
    return 1 if findings else 0


def cmd_schema(args: argparse.Namespace, console: Console) -> int:
    from labkit.design import reference, schema

    wanted = [(args.out, schema.schema_text), (args.markdown, reference.reference_markdown)]
    if not args.out and not args.markdown:
        wanted = [(str(schema.PATH), schema.schema_text), (str(reference.PATH), reference.reference_markdown)]
    for path, text in wanted:
        if path == "-":
            sys.stdout.write(text())
        elif path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text(), encoding="utf-8")
            console.say(f"wrote {path}")
    return 0


def _config_groups(paths: list[Path]) -> dict[Path, list[Path]]:
    """Configurations grouped by folder (one folder = one lab's devices): files as given, a folder's
    *.cfg, or each sub-folder's *.cfg (e.g. configs/)."""
    groups: dict[Path, list[Path]] = {}
    for path in paths:
        if path.is_file():
            groups.setdefault(path.parent, []).append(path)
        elif path.is_dir():
            folders = [path] if any(path.glob("*.cfg")) else sorted(p for p in path.iterdir() if p.is_dir())
            for folder in folders:
                groups.setdefault(folder, []).extend(sorted(folder.glob("*.cfg")))
        else:
            raise LabkitError(f"{path}: no such file or folder")
    groups = {folder: files for folder, files in groups.items() if files}
    if not groups:
        raise LabkitError(f"no ESR configurations (*.cfg) under {', '.join(map(str, paths))}")
    return groups


def cmd_graph(args: argparse.Namespace, console: Console) -> int:
    from labkit.render.graph import render_graph

    design = _design(args)
    svg, mermaid = render_graph(design, settings.build_root() / design.lab)
    console.say(f"topology picture of {design.lab}: {svg} (SVG), {mermaid} (mermaid)")
    print(svg)
    print(mermaid)
    return 0


def cmd_docs(args: argparse.Namespace, console: Console) -> int:
    from labkit.docs import write_pages

    for path in write_pages(Path(args.docs), args.measured):
        print(path)
    return 0


def cmd_up(args: argparse.Namespace, console: Console) -> int:
    design, build = _design_and_build(args, console)
    started = time.monotonic()
    bring_up(build.clab_file, design.source, args.runtime, console)
    console.say(f"lab {design.lab} is up ({time.monotonic() - started:.1f}s); "
                f"`labkit shell {design.origin} NODE` opens a node's CLI")
    return 0


def cmd_verify(args: argparse.Namespace, console: Console) -> int:
    from labkit.verify.run import verify_devices, verify_lab

    if args.inventory:
        from labkit.verify.inventory import load_inventory

        design = load_design(args.design or _scenario_design(args.scenario), args.set)
        report = verify_devices(design, load_inventory(Path(args.inventory)), console, settings.reports_root())
        return 0 if report.all_passed else 1
    if not args.design:
        raise LabkitError("give the design file of the running lab, or --inventory FILE --scenario NAME for "
                          "real routers")
    design = _design(args)
    runtime = _running(design)
    _same_nodes(design, runtime)
    report = verify_lab(design, runtime, console, settings.reports_root(), timings={})
    return 0 if report.all_passed else 1


def _scenario_design(scenario: str | None) -> Path:
    if not scenario:
        raise LabkitError("--inventory needs --scenario NAME (or a design file): which suite to run")
    path = settings.topologies_root() / f"{scenario}.yml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in settings.topologies_root().glob("*.yml")))
        raise LabkitError(f"no design {path}; the designs of {settings.topologies_root()}/: {known}")
    return path


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    """generate + up + verify (+ down unless --keep)."""
    from labkit.verify.run import verify_lab

    design, build = _design_and_build(args, console)
    started = time.monotonic()
    runtime = bring_up(build.clab_file, design.source, args.runtime, console)
    timings = {"bringup_s": round(time.monotonic() - started, 1)} | runtime.timings
    try:
        report = verify_lab(design, runtime, console, settings.reports_root(), timings=timings)
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP: a run cut short leaves nothing behind, --keep or not
        console.say(f"interrupted: tearing lab {design.lab} down")
        runtime.down(console.say)
        raise
    if not args.keep:
        console.say(f"tearing lab {design.lab} down (--no-keep)")
        runtime.down(console.say)
    if args.keep:
        console.say(f"lab {design.lab} left running: `labkit down {design.origin}` stops it")
    return 0 if report.all_passed else 1


def cmd_down(args: argparse.Namespace, console: Console) -> int:
    design = _design(args)
    require_root()
    clab_file = settings.build_root() / design.lab / f"{design.lab}.clab.yml"
    if not clab_file.exists():  # the lab may run although its build directory was removed
        clab_file = generate(design, settings.build_root()).clab_file
    runtime = running_runtime(read_lab(clab_file))
    if runtime is None:
        console.say(f"lab {design.lab} is not running: nothing to do")
        return 0
    runtime.down(console.say)
    console.say(f"lab {design.lab} is down")
    return 0


def cmd_status(args: argparse.Namespace, console: Console) -> int:
    design = _design(args)
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
    design = _design(args)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise LabkitError("give the command after the node, e.g. `labkit exec DESIGN hub1 -- ip route`")
    runtime = _running(design)
    runtime.mark_touched([args.node])
    result = runtime.exec(args.node, command, timeout=args.timeout)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.rc


def cmd_shell(args: argparse.Namespace, console: Console) -> int:
    design = _design(args)
    runtime = _running(design)
    runtime.mark_touched([args.node])
    argv = runtime.attach_argv(args.node, [args.program or lab_node().cli])
    os.execvp(argv[0], argv)
    return 1  # not reached


def cmd_bench(args: argparse.Namespace, console: Console) -> int:
    from labkit.bench import bench, bench_scale

    require_root()
    design = _design(args)
    if args.together:
        from labkit.together import bench_together

        bench_together(design, Path(args.together), console, Path(args.out), repeat=args.repeat)
    elif args.scale:
        bench_scale(design, args.scale, console, Path(args.out))
    else:
        bench(design, console, Path(args.out), with_tests=args.tests)
    return 0


def spoke_counts(text: str) -> list[int]:
    """`10,50,100` -> [10, 50, 100] (ascending, each once)."""
    try:
        counts = sorted({int(part) for part in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of spoke counts, e.g. 10,50,100") from None
    if counts[0] < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a spoke count is at least 1")
    return counts


def cmd_vm(args: argparse.Namespace, console: Console) -> int:
    """The shared microVM: its labs, memory and uptime, or stop it."""
    from labkit.runtime.base import lab_namespaces, recorded_labs
    from labkit.runtime.vm import MicroVM

    vm = MicroVM()
    if args.action == "stop":
        require_root()
        if not vm.stop(console.say):
            console.say("no microVM is running: nothing to do")
        return 0
    if not vm.alive():
        print("no microVM is running (`labkit up` boots one)")
        return 0
    problem = vm.heartbeat()
    print(f"microVM pid {vm.pid}, kernel {vm.record.get('kernel')}, {vm.record.get('accel', '?').upper()}, "
          f"up {vm.uptime_s():.0f}s, agent on 127.0.0.1:{vm.record.get('port')}, console {vm.log}")
    if problem:
        print(f"  NOT RESPONDING: {problem}; `labkit vm stop` removes it")
        return 1
    labs = [lab for lab in recorded_labs() if (read_record(lab) or {}).get("vm_pid") == vm.pid]
    namespaces = vm.namespaces()
    for lab in labs:
        print(f"  lab {lab}: {len(lab_namespaces(lab, namespaces, labs))} nodes")
    print(f"  {len(labs)} labs" if labs else "  no lab (warm, idle)")
    for key, value in (vm.resources() | vm.guest_memory_mib()).items():
        print(f"  {key}: {value:.0f}")
    from labkit.runtime.scheduler import describe, tickets

    for ticket in tickets():
        print(f"  scheduler: {describe(ticket)}")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="labkit", description="DMVPN reference lab kit for Eltex ESR routers: a design "
                                  "file becomes a lab, its ESR configs and the suite that proves them; commands in "
                                  "the order a new user needs them", epilog="example: labkit run topologies/phase3.yml")
    top.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("design", help="design file, e.g. topologies/phase3.yml")
        set_option(p)
        p.set_defaults(func=func)
        return p

    force_option(add("generate", cmd_generate, "write build/<lab>/: containerlab topology, node files, ESR configs"))
    add("plan", cmd_plan, "print every node's plan (YAML): what is decided about each hub and spoke")
    add("suite", cmd_suite, "print the checks the design's contents select (its parts), each check's deadline and "
        "needs, and the deadline table derived from the design's timers")
    p = sub.add_parser("configs", help="write the reference ESR configs configs/<lab>/<device>.cfg",
                       description="write (or --check) the reference ESR configs configs/<lab>/<device>.cfg, one "
                       "folder per design, named after its lab; a device is a hub, a spoke or a hub cluster (one "
                       "configuration for both units, named after them: hub1+hub2.cfg)")
    p.add_argument("designs", nargs="+", help="design files, e.g. topologies/*.yml")
    p.add_argument("--check", action="store_true", help="only report files that differ from their designs")
    p.set_defaults(func=cmd_configs)
    p = sub.add_parser("diff", help="what a design change does to each device",
                       description="render two designs (OLD NEW, or OLD at git revision --rev against the "
                       "working tree): a summary of the real routers added, READDRESSED (an existing router's "
                       "tunnel, WAN or LAN address changes), removed and changed, unchanged ones counted, lab-only "
                       "nodes apart; then the diff of each ESR config; exit 0 if nothing changes, 1 if something "
                       "does (with --check: only if an existing router is readdressed), 2 on error")
    p.add_argument("old", help="design file, e.g. topologies/phase3.yml")
    p.add_argument("new", nargs="?", help="the changed design file (not with --rev)")
    p.add_argument("--rev", help="git revision of OLD to compare with the working tree, e.g. origin/main")
    p.add_argument("--lab-files", action="store_true", help="also show the diffs of the lab's node files")
    p.add_argument("--markdown", action="store_true", help="Markdown for a CI job summary")
    p.add_argument("--check", action="store_true", help="exit 1 only if an existing router is readdressed, "
                   "naming each (CI blocks the change); other changes exit 0")
    p.add_argument("--allow-readdress", action="store_true", help="the readdressing is intended: no error")
    p.set_defaults(func=cmd_diff)
    p = sub.add_parser("lint", help="check ESR configurations for cross-device consistency",
                       description="check ESR configurations (one folder per lab) for cross-device "
                       "consistency: NHS/NBMA mappings, proposals, tunnel addresses, BGP, phase commands, "
                       "advertised LANs, VRF route targets")
    p.add_argument("paths", nargs="+", help="config files or folders, e.g. configs/ or configs/dmvpn-phase3")
    p.set_defaults(func=cmd_lint)
    p = sub.add_parser("provenance", help="per ESR config: how many emitted lines are confirmed vs assumed",
                       description="per ESR config: how many emitted lines are confirmed, fixed (corrected to the "
                       "confirmed form), assumed or contradicted, by labkit/platforms/esr/provenance.yml")
    p.add_argument("paths", nargs="+", help="config files or folders, e.g. configs/")
    p.set_defaults(func=cmd_provenance)
    p = sub.add_parser("schema", help="write the design files' JSON Schema and field reference",
                       description="write the JSON Schema of design files (schema/design.schema.json: an editor's "
                       "YAML language server completes and checks a design naming it on its first line) and the "
                       "design-file reference (docs/reference/design.md), both generated from the fields "
                       "labkit/design/spec.py declares; with --out or --markdown only the files given")
    p.add_argument("--out", metavar="PATH", help="write the JSON Schema here ('-': standard output)")
    p.add_argument("--markdown", metavar="PATH", help="write the field reference here ('-': standard output)")
    p.set_defaults(func=cmd_schema)
    add("graph", cmd_graph, "draw the lab: build/<lab>/<lab>.svg and a containerlab-style mermaid graph")
    for name, func, text in (("up", cmd_up, "generate and start the lab; it stays up"),
                             ("run", cmd_run, "generate, start and verify the lab")):
        p = force_option(add(name, func, text))
        p.add_argument("--runtime", choices=CHOICES, default=settings.default_runtime())
        if name == "run":
            p.add_argument("--keep", action=argparse.BooleanOptionalAction, default=True,
                           help="leave the lab running afterwards (default) or tear it down")
    add("status", cmd_status, "show each node's daemons")
    add("down", cmd_down, "stop the lab and remove everything it made (idempotent)")
    p = sub.add_parser("verify", help="run the design's suite against the running lab or real routers",
                       description="run the design's suite against the running lab (DESIGN), or against real "
                       "routers: --inventory FILE with DESIGN or --scenario NAME (credentials from the environment); "
                       "the report goes to reports/<lab>/")
    p.add_argument("design", nargs="?", help="design file of the running lab, e.g. topologies/phase3.yml")
    p.add_argument("--inventory", help="YAML inventory of real routers (hosts, platform eltex_esr)")
    p.add_argument("--scenario", help="with --inventory and no DESIGN: the design topologies/NAME.yml")
    set_option(p)
    p.set_defaults(func=cmd_verify)
    p = add("exec", cmd_exec, "run a command in a node")
    p.add_argument("node")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("command", nargs=argparse.REMAINDER)
    p = add("bench", cmd_bench, "measure the design's lab cold and warm, node start against bare daemons, memory "
            "per node (and `make test` with --tests); or with --scale, the lab at each spoke count; a table and JSON")
    p.add_argument("--out", default="build/bench", help="where bench.json (bench-scale.json) and the runs' reports go")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--tests", action="store_true", help="also time `make test` with the VM warm")
    mode.add_argument("--together", metavar="TIMES",
                      help="run the design's measured cases alone and compare them with the same cases in a concurrent "
                      "`make test` (TIMES: its reports/make-test-times.json)")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="with --together: run the design alone N times (a case's figure alone varies from run to run)")
    mode.add_argument("--scale", type=spoke_counts, metavar="N,N,...",
                      help="run the design with each spoke count (e.g. 10,50,100) in the warm VM: time and guest "
                      "memory per spoke against the bare-daemon floor, and how bring-up per spoke grows")
    p = sub.add_parser("vm", help="the shared microVM: status (labs, memory, uptime) or stop",
                       description="the microVM every embedded lab runs in: `status` shows its labs, memory and "
                       "uptime; `stop` powers it off (labs in it are gone)")
    p.add_argument("action", choices=("status", "stop"), nargs="?", default="status")
    p.set_defaults(func=cmd_vm)
    p = add("shell", cmd_shell, "open a node's CLI (or --program sh)")
    p.add_argument("node")
    p.add_argument("--program", help="the program to run instead of the node's CLI, e.g. sh")
    p = sub.add_parser("docs", help="write the generated reference pages of docs/",
                       description="write docs/reference/{checks,deadlines,faults,course,figures}.md from the designs, "
                       "the deadline table, the fault library, the course and the measured figures' JSON snapshot")
    p.add_argument("--docs", default="docs", help="the docs folder (default docs)")
    p.add_argument("--measured", action="store_true", help="first copy reports/make-test-times.json, "
                   "build/bench/*.json and reports/workshop-bench/bench.json into docs/data/measured/")
    p.set_defaults(func=cmd_docs)
    from labkit.workshop.commands import add_parser as add_workshop  # it builds on this module's commands

    add_workshop(sub)
    for name, action in sub.choices.items():
        if name in EXAMPLES:
            action.epilog = f"example: {EXAMPLES[name]}"
    sub._choices_actions.sort(key=lambda a: list(EXAMPLES).index(a.dest) if a.dest in EXAMPLES else len(EXAMPLES))
    return top


# `labkit --help` lists the commands in the order a new user needs them, and each command's help ends in an example
# (tests/unit/test_docs.py fails on a command without one)
EXAMPLES = {
    "generate": "labkit generate topologies/phase3.yml",
    "run": "labkit run topologies/phase3.yml --no-keep",
    "up": "labkit up topologies/phase3.yml",
    "verify": "labkit verify topologies/phase3.yml",
    "status": "labkit status topologies/phase3.yml",
    "shell": "labkit shell topologies/phase3.yml spoke1",
    "exec": "labkit exec topologies/phase3.yml hub1 -- ip route",
    "down": "labkit down topologies/phase3.yml",
    "suite": "labkit suite topologies/phase3.yml",
    "plan": "labkit plan topologies/phase3.yml --set spokes.count=5",
    "schema": "labkit schema",
    "graph": "labkit graph topologies/phase3.yml",
    "configs": "labkit configs topologies/*.yml",
    "lint": "labkit lint configs/",
    "provenance": "labkit provenance configs/dmvpn-phase3",
    "diff": "labkit diff topologies/phase3.yml --rev origin/main",
    "vm": "labkit vm stop",
    "bench": "labkit bench topologies/scale.yml --scale 10,50,100",
    "workshop": "labkit workshop start 05 --student anna",
    "docs": "labkit docs --measured",
}


def set_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="change a field of the design for this command, e.g. spokes.count=50 (repeatable; "
                   "the lab keeps its name, its report says what was set)")


def force_option(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--force", action="store_true", help="replace build/<lab>/ even if another design file (naming "
                   "the same lab) made it")
    return p


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (`timeout`, CI cancellation, a closed terminal): cleaned up exactly like Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _terminate(signum: int, _frame: object) -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):  # a second signal must not cut the clean-up short
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated(signum)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console = Console(quiet=args.quiet)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _terminate)
    try:
        return args.func(args, console)
    except DesignError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        return 2
    except LabkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Terminated as exc:
        print(f"terminated by {exc.args[0]}", file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
