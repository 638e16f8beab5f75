"""`labkit workshop bench EXERCISE --students N`: what a class costs on this machine, measured. N students
(bench1..benchN, their progress kept apart from the class's) start the exercise one after another in the shared
microVM; then, with every lab up: the guest memory and the CPU the idle labs take, a quick `check`, and for each
student the reference solution applied and a `reset` timed (the other labs running meanwhile, as in a class).
Every bench student's lab is stopped at the end. Printed as a table and written as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from labkit.console import Console
from labkit.errors import LabkitError
from labkit.machine import stamp
from labkit.runtime.vm import MicroVM

STUDENT = "bench"
COMMAND_LIMIT_S = 900  # a start that boots the VM and the lab, or a check that waits: far more than they take
SETTLE_S = 30  # after the last start: registrations, SAs and BGP there, memory and CPU at rest
CPU_WINDOW_S = 30  # how long the idle labs' CPU is measured
GUEST_RESERVE_MIB = 512  # what the guest keeps free for checks, captures and the kernel's own growth


def _workshop(action: str, student: str, *extra: str, folder: Path) -> tuple[float, subprocess.CompletedProcess]:
    """`labkit workshop ACTION --student STUDENT` as a student runs it; its wall time and result."""
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "labkit", "-q", "workshop", action, *extra, "--student", student],
                          capture_output=True, text=True, check=False, timeout=COMMAND_LIMIT_S,
                          env=os.environ | {"LABKIT_WORKSHOP_DIR": str(folder)})
    return time.monotonic() - began, done


def _must(what: str, done: subprocess.CompletedProcess, ok: tuple[int, ...] = (0,)) -> None:
    if done.returncode not in ok:
        raise LabkitError(f"{what} failed (exit {done.returncode}):\n{(done.stdout + done.stderr)[-2000:]}")


def bench_class(exercise: str, students: int, console: Console, out: Path) -> dict:
    """Start, load, memory and reset of `students` labs of `exercise` at once in the shared VM."""
    names = [f"{STUDENT}{n}" for n in range(1, students + 1)]
    folder = out / "progress"
    vm = MicroVM()
    vm.ensure(console.say)
    before = vm.guest_memory_mib() | vm.resources()
    results: dict = {"exercise": exercise, "students": students, "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                     "start_s": {}, "reset_s": {}}
    try:
        for name in names:
            took, done = _workshop("start", name, exercise, folder=folder)
            _must(f"{name}: start {exercise}", done)
            results["start_s"][name] = round(took, 1)
            console.say(f"{name}: started in {took:.1f}s")
        time.sleep(SETTLE_S)
        after = vm.guest_memory_mib() | vm.resources()
        cpu_before, began = vm.cpu_seconds(), time.monotonic()
        time.sleep(CPU_WINDOW_S)
        results["idle_cores"] = round((vm.cpu_seconds() - cpu_before) / (time.monotonic() - began), 2)
        took, done = _workshop("check", names[0], folder=folder)
        _must(f"{names[0]}: check", done, ok=(0, 1))  # 1: a failing check, which is the exercise's start
        results["quick_check_s"] = round(took, 1)
        for name in names:
            _must(f"{name}: solution --apply", _workshop("solution", name, "--apply", folder=folder)[1])
            took, done = _workshop("reset", name, folder=folder)
            _must(f"{name}: reset", done)
            results["reset_s"][name] = round(took, 1)
            console.say(f"{name}: reset in {took:.1f}s")
    finally:
        for name in names:
            _workshop("stop", name, folder=folder)
    results |= _memory(before, after, students)
    path = out / "bench.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results | stamp(), indent=2))
    console.say(f"written: {path}")
    return results


def _memory(before: dict, after: dict, students: int) -> dict:
    """Guest memory per student lab, QEMU's growth, and how many such labs the guest's memory holds."""
    per_lab = (after["guest_used_mib"] - before["guest_used_mib"]) / students
    free = before["guest_total_mib"] - before["guest_used_mib"] - GUEST_RESERVE_MIB
    return {"guest_mib_per_lab": round(per_lab, 1),
            "qemu_rss_mib_per_lab": round((after.get("vm_rss_mib", 0) - before.get("vm_rss_mib", 0)) / students, 1),
            "labs_by_memory": int(free // per_lab) if per_lab > 0 else None, "before": before, "with_labs": after}


def table(r: dict) -> str:
    """The bench's figures, one per line."""
    starts, resets = list(r["start_s"].values()), list(r["reset_s"].values())
    rows = [
        ("exercise", r["exercise"]),
        ("students at once", str(r["students"])),
        ("start, each after the other", " ".join(f"{s:.0f}s" for s in starts)),
        ("quick check (all labs up)", f"{r['quick_check_s']:.0f}s"),
        ("reset after the solution", " ".join(f"{s:.0f}s" for s in resets) + f"  (max {max(resets):.0f}s)"),
        ("guest memory per student lab", f"{r['guest_mib_per_lab']:.0f} MiB"),
        ("QEMU resident memory per lab", f"{r['qemu_rss_mib_per_lab']:.0f} MiB"),
        ("CPU of the idle labs", f"{r['idle_cores']:.2f} cores"),
        ("labs the guest's memory holds", str(r["labs_by_memory"])),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows) + "\n"
