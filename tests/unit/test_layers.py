"""The packages depend on each other one way: design -> plan -> render -> runtime -> verify -> the commands.
A module imports (at run time, not only for type checking) nothing from a layer above its own, and no two modules
import each other in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

CORE = ROOT / "labkit"
# what each package may import of labkit's other packages (at run time); the platforms serve every layer
MAY_IMPORT = {
    "design": {"errors", "platforms", "settings"},
    "plan": {"design", "errors", "platforms"},
    "render": {"design", "plan", "errors", "platforms", "settings"},
    "runtime": {"errors", "console", "platforms", "settings"},
    "verify": {"design", "plan", "render", "runtime", "errors", "console", "platforms", "settings"},
}


def _runtime_imports(path: Path) -> set[str]:
    """The labkit modules `path` imports outside `if TYPE_CHECKING:` blocks."""
    tree = ast.parse(path.read_text())
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(
        node.test) for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("labkit"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("labkit")}
    return found


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_a_layer_imports_nothing_from_above(package: str):
    crossing = sorted(f"{path.relative_to(ROOT)} imports {module}"
                      for path in (CORE / package).rglob("*.py") for module in _runtime_imports(path)
                      if _package(module) not in (None, package, *MAY_IMPORT[package])
                      and (CORE / _package(module)).is_dir() | (CORE / f"{_package(module)}.py").is_file())
    assert not crossing, crossing


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    return ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)


def _loaded_at_import(path: Path, modules: set[str]) -> set[str]:
    """The labkit modules `path` imports as it loads (top-level imports; those inside functions are deferred on
    purpose): `from package import module` names the module, not the package."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("labkit"):
            names = {f"{node.module}.{a.name}" for a in node.names}
            found |= names & modules
            if names - modules:
                found.add(node.module)
    return found


def test_no_two_modules_import_each_other_in_a_circle():
    modules = {_module_name(p): p for p in CORE.rglob("*.py")}
    graph = {name: _loaded_at_import(path, set(modules)) - {name} for name, path in modules.items()}
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise AssertionError("import circle: " + " -> ".join((*path[path.index(name):], name)))
        if name in done:
            return
        for other in sorted(graph[name]):
            visit(other, (*path, name))
        done.add(name)

    for name in sorted(graph):
        visit(name, ())
