"""What a changed design does to a running lab: nodes added, removed, changed or untouched, links added or removed.

A lab's state is what its nodes see: per node a digest of the files bound into it, and the links. It is
recorded when the lab comes up (the build directory is rewritten by the next `generate`, so the recorded
digests, never the files, stand for the running lab) and compared with the state of a new build.
"""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from labkit.runtime.labspec import LabSpec, LinkSpec, NodeSpec

# what each node undergoes in a change, in the order a summary lists them
ACTIONS = ("started", "stopped", "restarted", "untouched")


@dataclass(frozen=True)
class LabState:
    nodes: dict[str, str]  # node -> digest of its bound files, in the lab's node order
    links: frozenset[LinkSpec]

    def to_json(self) -> dict:
        links = sorted((link.a, link.a_if, link.b, link.b_if) for link in self.links)
        return {"nodes": dict(self.nodes), "links": [list(link) for link in links]}

    @classmethod
    def from_json(cls, data: dict) -> LabState | None:
        """The state in a lab record; None for a record without one (written by an older labkit)."""
        if "nodes" not in data or "links" not in data:
            return None
        return cls(dict(data["nodes"]), frozenset(LinkSpec(*link) for link in data["links"]))


@dataclass(frozen=True)
class LabChange:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]  # kept nodes whose files or links differ: restarted in place
    unchanged: tuple[str, ...]
    added_links: tuple[LinkSpec, ...]
    removed_links: tuple[LinkSpec, ...]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.added_links or self.removed_links)

    def actions(self) -> dict[str, str]:
        """Each node's action (one of ACTIONS), grouped in the order of ACTIONS."""
        groups = (self.added, self.removed, self.changed, self.unchanged)
        return {node: action for action, nodes in zip(ACTIONS, groups, strict=True) for node in nodes}


def _bound_files(source: Path) -> list[tuple[str, Path]]:
    """(name relative to the bind, path) of every file a bind brings into a node, sorted."""
    if source.is_file():
        return [("", source)]
    return [(path.relative_to(source).as_posix(), path) for path in sorted(source.rglob("*")) if path.is_file()]


def files_digest(node: NodeSpec) -> str:
    """A digest of every file bound into the node: bind target, relative name, mode and content."""
    digest = hashlib.sha256()
    for source, target in sorted(node.binds, key=lambda bind: bind[1]):
        digest.update(f"bind {target}\n".encode())
        for name, path in _bound_files(source):
            digest.update(f"file {name} {stat.S_IMODE(path.stat().st_mode):o} {path.stat().st_size}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def lab_state(spec: LabSpec) -> LabState:
    """The state of a build: read from the files its nodes bind."""
    return LabState({node.name: files_digest(node) for node in spec.nodes}, frozenset(spec.links))


def _ends(links: Iterable[LinkSpec]) -> set[str]:
    return {end for link in links for end in (link.a, link.b)}


def _ordered(links: Iterable[LinkSpec]) -> tuple[LinkSpec, ...]:
    return tuple(sorted(links, key=lambda link: (link.a, link.a_if, link.b, link.b_if)))


def lab_change(old: LabState, new: LabState) -> LabChange:
    """How to bring a lab in state `old` to `new`: a kept node is changed when its files differ or a link of
    it was added or removed (its start script must set the link up)."""
    added_links, removed_links = _ordered(new.links - old.links), _ordered(old.links - new.links)
    relinked = _ends(added_links + removed_links)
    kept = [node for node in new.nodes if node in old.nodes]
    changed = tuple(node for node in kept if old.nodes[node] != new.nodes[node] or node in relinked)
    return LabChange(
        added=tuple(node for node in new.nodes if node not in old.nodes),
        removed=tuple(node for node in old.nodes if node not in new.nodes),
        changed=changed,
        unchanged=tuple(node for node in kept if node not in changed),
        added_links=added_links,
        removed_links=removed_links,
    )
