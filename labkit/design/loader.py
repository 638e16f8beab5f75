"""YAML loading that remembers the line of every key and list item, for precise error messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from labkit.errors import DesignError


class LineDict(dict):
    """A mapping that knows the line each of its keys was written on."""

    line: int = 0
    key_lines: dict[str, int]


class LineList(list):
    """A list that knows the line of each item."""

    line: int = 0
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:
        mapping = LineDict(super().construct_mapping(node, deep=True))
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in mapping.key_lines:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            mapping.key_lines[key] = key_node.start_mark.line + 1
        return mapping

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> LineList:
        items = LineList(super().construct_sequence(node, deep=True))
        items.line = node.start_mark.line + 1
        items.item_lines = [child.start_mark.line + 1 for child in node.value]
        return items


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _LineLoader.construct_sequence)


def load_yaml(path: Path) -> Any:
    """Parse a YAML file; a syntax error becomes a DesignError naming file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DesignError([f"{path}: cannot read the design file: {exc.strerror}"]) from None
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        reason = exc.problem or exc.context or "invalid YAML"
        raise DesignError([f"{path}{line}: invalid YAML: {reason}"]) from None
    except yaml.YAMLError as exc:
        raise DesignError([f"{path}: invalid YAML: {exc}"]) from None
