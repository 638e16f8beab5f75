"""What a runtime needs from `<lab>.clab.yml`: nodes with their binds and role, and the links."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from labkit.errors import LabkitError


@dataclass(frozen=True)
class NodeSpec:
    name: str
    role: str
    binds: tuple[tuple[Path, str], ...]  # (absolute source on the host, target inside the node)


@dataclass(frozen=True)
class LinkSpec:
    a: str
    a_if: str
    b: str
    b_if: str


@dataclass(frozen=True)
class LabSpec:
    name: str
    clab_file: Path
    nodes: tuple[NodeSpec, ...]
    links: tuple[LinkSpec, ...]
    kernel_modules: tuple[str, ...] = ()  # what the lab needs from a host kernel its nodes share

    def node(self, name: str) -> NodeSpec:
        for node in self.nodes:
            if node.name == name:
                return node
        known = ", ".join(n.name for n in self.nodes)
        raise LabkitError(f"lab {self.name} has no node {name!r}; its nodes are: {known}")


def read_lab(clab_file: Path) -> LabSpec:
    """Read a containerlab topology the way containerlab would (binds relative to the file)."""
    try:
        doc = yaml.safe_load(clab_file.read_text())
    except OSError as exc:
        reason = f"cannot read the topology ({exc.strerror}); run `labkit generate` first"
        raise LabkitError(f"{clab_file}: {reason}") from None
    base = clab_file.parent.resolve()
    nodes = []
    for name, node in doc["topology"]["nodes"].items():
        binds = []
        for bind in node.get("binds", []):
            source, target = bind.split(":")[:2]
            binds.append(((base / source).resolve(), target))
        nodes.append(NodeSpec(name=name, role=node.get("labels", {}).get("labkit.role", "node"), binds=tuple(binds)))
    links = []
    for link in doc["topology"].get("links", []):
        (a, a_if), (b, b_if) = (ep.split(":") for ep in link["endpoints"])
        links.append(LinkSpec(a, a_if, b, b_if))
    modules = doc["topology"].get("defaults", {}).get("labels", {}).get("labkit.kernel-modules", "")
    return LabSpec(name=doc["name"], clab_file=clab_file.resolve(), nodes=tuple(nodes), links=tuple(links),
                   kernel_modules=tuple(modules.split()))
