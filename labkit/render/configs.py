"""The reference ESR configurations committed in configs/<scenario>/<node>.cfg, and their sync check."""

from __future__ import annotations

from pathlib import Path

from labkit.design.model import Design
from labkit.render.generate import render_esr


def reference_configs(design: Design) -> dict[str, str]:
    """Each node's ESR configuration, keyed by its path under configs/."""
    return {f"{design.scenario}/{site.name}.cfg": render_esr(design, site) for site in design.sites}


def write_configs(designs: list[Design], root: Path) -> list[Path]:
    """Write (replacing) configs/<scenario>/ of each design; returns the files written."""
    written = []
    for design in designs:
        folder = root / design.scenario
        for stale in folder.glob("*.cfg"):
            stale.unlink()
        for rel, text in sorted(reference_configs(design).items()):
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def out_of_sync(designs: list[Design], root: Path) -> list[str]:
    """One line per committed file that differs from what its design generates, is missing or is extra."""
    problems = []
    for design in designs:
        expected = reference_configs(design)
        for rel, text in sorted(expected.items()):
            path = root / rel
            if not path.exists():
                problems.append(f"{path}: missing (generated from {design.source})")
            elif path.read_text(encoding="utf-8") != text:
                problems.append(f"{path}: differs from what {design.source} generates")
        for path in sorted((root / design.scenario).glob("*.cfg")):
            if path.relative_to(root).as_posix() not in expected:
                problems.append(f"{path}: no node of {design.source} has this name")
    return problems
