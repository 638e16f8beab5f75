"""The reference ESR configurations committed in configs/<lab>/<device>.cfg (a hub's or spoke's; one for both units
of a cluster, named after them: hub1+hub2.cfg), and their sync check."""

from __future__ import annotations

from pathlib import Path

from labkit.design.model import Design
from labkit.errors import LabkitError
from labkit.render.generate import device_configs


def reference_configs(design: Design) -> dict[str, str]:
    """Each device's ESR configuration, keyed by its path under configs/."""
    return {f"{design.lab}/{device}.cfg": text for device, text in device_configs(design).items()}


def write_configs(designs: list[Design], root: Path) -> list[Path]:
    """Write (replacing) configs/<lab>/ of each design; returns the files written."""
    distinct_labs(designs)
    written = []
    for design in designs:
        folder = root / design.lab
        for stale in folder.glob("*.cfg"):
            stale.unlink()
        for rel, text in sorted(reference_configs(design).items()):
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def distinct_labs(designs: list[Design]) -> None:
    """Each design's lab name names its folder: two designs sharing one would overwrite each other's files."""
    first: dict[str, Design] = {}
    for design in designs:
        other = first.setdefault(design.lab, design)
        if other is not design:
            raise LabkitError(f"{design.source} and {other.source} both name their lab {design.lab!r}, which names "
                              "the folder of their configs (and reports): give each design its own `lab:`")


def out_of_sync(designs: list[Design], root: Path) -> list[str]:
    """One line per committed file that differs from what its design generates, is missing or is extra."""
    distinct_labs(designs)
    problems = []
    for design in designs:
        expected = reference_configs(design)
        for rel, text in sorted(expected.items()):
            path = root / rel
            if not path.exists():
                problems.append(f"{path}: missing (generated from {design.source})")
            elif path.read_text(encoding="utf-8") != text:
                problems.append(f"{path}: differs from what {design.source} generates")
        for path in sorted((root / design.lab).glob("*.cfg")):
            if path.relative_to(root).as_posix() not in expected:
                problems.append(f"{path}: no device of {design.source} has this name")
    return problems
