"""What a design change does to each device: render both designs, compare their files device by device."""

from __future__ import annotations

import difflib
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from labkit.design import Design, load_design
from labkit.errors import DesignError, LabkitError
from labkit.render.generate import generate

LAB_FILE = "(lab)"  # the device name of the containerlab topology file, which belongs to no node


@dataclass
class DeviceDiff:
    """One device: its status and the unified diff of each of its changed files."""

    name: str
    status: str  # unchanged, changed, added or removed
    diffs: dict[str, str] = field(default_factory=dict)  # relative path -> unified diff


def rendered_files(design: Design, workdir: Path) -> dict[str, str]:
    """Every file `generate` writes for the design, by path relative to the lab's build directory, with
    the design file's own path replaced so that two files of the same design compare equal."""
    build = generate(design, workdir)
    source = design.source.as_posix()
    return {
        path.relative_to(build.path).as_posix(): path.read_text(encoding="utf-8").replace(source, "<design>")
        for path in sorted(build.path.rglob("*")) if path.is_file()
    }


def device_of(rel: str) -> str:
    """esr/<device>.cfg and nodes/<device>/... belong to that device; the rest to the lab."""
    parts = rel.split("/")
    if parts[0] == "esr" and len(parts) == 2:
        return parts[1].removesuffix(".cfg")
    if parts[0] == "nodes" and len(parts) > 2:
        return parts[1]
    return LAB_FILE


def compare(old: dict[str, str], new: dict[str, str], lab_files: bool = False) -> list[DeviceDiff]:
    """Per device (sorted by name), its status over all its files; diffs of its ESR config, and of its
    lab files too when `lab_files`."""
    devices: dict[str, DeviceDiff] = {}
    for rel in sorted(old.keys() | new.keys()):
        name = device_of(rel)
        device = devices.setdefault(name, DeviceDiff(name, "unchanged"))
        before, after = old.get(rel), new.get(rel)
        if before == after:
            continue
        device.status = "changed"
        if lab_files or rel.startswith("esr/"):
            device.diffs[rel] = "".join(difflib.unified_diff(
                (before or "").splitlines(keepends=True), (after or "").splitlines(keepends=True),
                fromfile=f"a/{rel}" if before is not None else "/dev/null",
                tofile=f"b/{rel}" if after is not None else "/dev/null"))
    had, has = {device_of(rel) for rel in old}, {device_of(rel) for rel in new}
    for name in has - had:
        devices[name].status = "added"
    for name in had - has:
        devices[name].status = "removed"
    return sorted(devices.values(), key=lambda d: d.name)


def diff_designs(old: Path, new: Path, lab_files: bool = False) -> list[DeviceDiff]:
    """Compare two design files; DesignError if either is invalid."""
    with tempfile.TemporaryDirectory(prefix="labkit-diff-") as tmp:
        before = rendered_files(load_design(old), Path(tmp) / "old")
        after = rendered_files(load_design(new), Path(tmp) / "new")
    return compare(before, after, lab_files)


def design_at_revision(path: Path, rev: str, workdir: Path) -> Path:
    """Write the design file as it was at git revision `rev` under `workdir` (same file name)."""
    repo = _git(path.parent, "rev-parse", "--show-toplevel").strip()
    rel = path.resolve().relative_to(Path(repo).resolve()).as_posix()
    target = workdir / rev.replace("/", "_") / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(_git(Path(repo), "show", f"{rev}:{rel}"), encoding="utf-8")
    return target


def _git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode:
        raise LabkitError(f"git {' '.join(args)}: {result.stderr.strip() or 'failed'}")
    return result.stdout


def diff_revision(path: Path, rev: str, lab_files: bool = False) -> list[DeviceDiff]:
    """Compare the design file at git revision `rev` with the file as it is now."""
    with tempfile.TemporaryDirectory(prefix="labkit-diff-rev-") as tmp:
        old = design_at_revision(path, rev, Path(tmp))
        try:
            return diff_designs(old, path, lab_files)
        except DesignError as exc:  # name the revision, not the temporary copy
            raise DesignError([line.replace(str(old), f"{path}@{rev}") for line in exc.problems]) from None


def text_report(devices: list[DeviceDiff]) -> str:
    """One line per device, then the diffs."""
    lines = [f"{d.status:9} {d.name}" for d in devices]
    diffs = [text for d in devices for text in d.diffs.values()]
    return "\n".join(lines) + "\n" + ("\n" + "".join(diffs) if diffs else "")


def markdown_report(devices: list[DeviceDiff], title: str) -> str:
    """A job-summary form: a table of statuses, then each diff in a collapsed block."""
    changed = [d for d in devices if d.status != "unchanged"]
    out = [f"### {title}", "", f"{len(changed)} of {len(devices)} devices change." if changed else
           "No device changes.", "", "| device | status |", "| --- | --- |"]
    out += [f"| {d.name} | {d.status} |" for d in devices]
    for device in changed:
        for rel, text in device.diffs.items():
            out += ["", f"<details><summary>{rel} ({device.status})</summary>", "", "```diff",
                    text.rstrip("\n"), "```", "", "</details>"]
    return "\n".join(out) + "\n"
