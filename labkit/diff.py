"""What a design change does to each device: render both designs, compare their files device by device, and
sum it up for a reviewer: routers added, routers readdressed (an existing router whose tunnel, WAN or LAN address
changes), other changes, and the lab-only nodes apart."""

from __future__ import annotations

import difflib
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from labkit.design import Design, load_design
from labkit.errors import DesignError, LabkitError
from labkit.plan.build import plan_design
from labkit.render.generate import generate

LAB_FILE = "(lab)"  # the device name of the containerlab topology file, which belongs to no node
LAB_ONLY = "lab-only nodes (not real routers: the lab's transport, HQ core and topology file)"


@dataclass(frozen=True)
class Addresses:
    """A real router's addresses as its plan has them (a hub cluster: the shared VRRP addresses)."""

    tunnel: str
    wan: str
    lan: str

    def text(self) -> str:
        return f"tunnel {self.tunnel}, WAN {self.wan}, LAN {self.lan}"

    def moves(self, new: Addresses) -> str:
        """`tunnel OLD -> NEW, ...` for each address that differs."""
        return ", ".join(f"{label} {a} -> {b}" for label, a, b in zip(
            ("tunnel", "WAN", "LAN"), (self.tunnel, self.wan, self.lan), (new.tunnel, new.wan, new.lan), strict=True)
            if a != b)


@dataclass
class DeviceDiff:
    """One device: its status, the unified diff of each of its changed files and, for a real router (a hub, spoke
    or hub cluster), its addresses before and after."""

    name: str
    status: str  # unchanged, changed, added or removed
    diffs: dict[str, str] = field(default_factory=dict)  # relative path -> unified diff
    old: Addresses | None = None
    new: Addresses | None = None

    @property
    def real(self) -> bool:
        return self.old is not None or self.new is not None

    @property
    def readdressed(self) -> bool:
        """An existing router whose tunnel, WAN or LAN address changes."""
        return self.old is not None and self.new is not None and self.old != self.new


def device_addresses(design: Design) -> dict[str, Addresses]:
    """Each real router's addresses, from the node plans: hubs, spokes and a hub cluster's one device."""
    addresses = {}
    for plan in plan_design(design).values():
        addresses[plan.name] = Addresses(str(plan.tunnel.ip), str(plan.wan), str(plan.lan))
        if plan.cluster:
            cluster = plan.cluster
            addresses[cluster.name] = Addresses(str(plan.tunnel.ip), str(cluster.wan.vip), str(cluster.lan.vip))
    return addresses


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
    before_design, after_design = load_design(old), load_design(new)
    with tempfile.TemporaryDirectory(prefix="labkit-diff-") as tmp:
        before = rendered_files(before_design, Path(tmp) / "old")
        after = rendered_files(after_design, Path(tmp) / "new")
    devices = compare(before, after, lab_files)
    was, becomes = device_addresses(before_design), device_addresses(after_design)
    for device in devices:
        device.old, device.new = was.get(device.name), becomes.get(device.name)
    return devices


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


def readdress_problem(devices: list[DeviceDiff]) -> str | None:
    """The message a readdressing of existing routers fails `labkit diff --check` with, naming each; None if none."""
    moved = [d for d in devices if d.readdressed]
    if not moved:
        return None
    return (f"the change readdresses {len(moved)} existing routers ({', '.join(d.name for d in moved)}): in "
            "production each would have to be given new addresses; if that is intended, pass --allow-readdress")


def summary(devices: list[DeviceDiff]) -> tuple[str, list[tuple[str, list[str]]]]:
    """The count line and the sections (heading, one entry per device) a reviewer reads first: real routers
    readdressed, added, removed and otherwise changed, unchanged ones as a count; then the lab-only nodes."""
    real = [d for d in devices if d.real]
    lab = [d for d in devices if not d.real and d.status != "unchanged"]
    moved = [d for d in real if d.readdressed]
    added, removed = ([d for d in real if d.status == s] for s in ("added", "removed"))
    changed = [d for d in real if d.status == "changed" and not d.readdressed]
    unchanged = sum(d.status == "unchanged" for d in real)
    counts = (f"{len(added)} added, {len(moved)} readdressed, {len(changed)} changed, {len(removed)} removed, "
              f"{unchanged} unchanged real routers; {len(lab)} lab-only nodes changed")
    sections = [
        (f"READDRESSED: {len(moved)} existing routers get new addresses",
         [f"{d.name}: {d.old.moves(d.new)}" for d in moved]),
        ("added", [f"{d.name}: {d.new.text()}" for d in added]),
        ("removed", [f"{d.name}: {d.old.text()}" for d in removed]),
        ("changed (same addresses)", [d.name for d in changed]),
        (LAB_ONLY, [f"{d.name}: {d.status}" for d in lab]),
    ]
    return counts, [(heading, entries) for heading, entries in sections if entries]


def text_report(devices: list[DeviceDiff]) -> str:
    """The summary, then the diffs."""
    counts, sections = summary(devices)
    lines = [counts] + [line for heading, entries in sections for line in [f"{heading}:", *(f"  {e}" for e in entries)]]
    diffs = [text for d in devices for text in d.diffs.values()]
    return "\n".join(lines) + "\n" + ("\n" + "".join(diffs) if diffs else "")


def markdown_report(devices: list[DeviceDiff], title: str) -> str:
    """A job-summary form: the summary, then each diff in a collapsed block."""
    counts, sections = summary(devices)
    out = [f"### {title}", "", f"**{counts}**" if sections else "No device changes."]
    for heading, entries in sections:
        out += ["", f"#### {heading}", "", *(f"- {entry}" for entry in entries)]
    for device in devices:
        for rel, text in device.diffs.items():
            out += ["", f"<details><summary>{rel} ({device.status})</summary>", "", "```diff",
                    text.rstrip("\n"), "```", "", "</details>"]
    return "\n".join(out) + "\n"
