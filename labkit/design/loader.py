"""YAML loading that remembers the line of every key and list item, for precise error messages."""

from __future__ import annotations

import codecs
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


MAX_DESIGN_BYTES = 4 * 1024 * 1024  # a design of 10,000 listed spokes is about 1 MB


def read_design_text(path: Path) -> str:
    """The design file as text; anything that is not a readable UTF-8 text file of sane size is a
    DesignError with one `file: reason` line."""
    def fail(reason: str) -> DesignError:
        return DesignError([f"{path}: {reason}"])

    try:
        if path.is_dir():
            raise fail("is a directory, not a design file")
        if path.stat().st_size > MAX_DESIGN_BYTES:
            raise fail(f"is {path.stat().st_size:,} bytes, more than a design file can be "
                       f"({MAX_DESIGN_BYTES:,}); is it the right file?")
        data = path.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read the design file: {exc.strerror}") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise fail("is UTF-16 or UTF-32 text; save it as UTF-8")
    if b"\0" in data:
        raise fail("contains NUL bytes: a binary file or UTF-16 text, not UTF-8 YAML")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise fail(f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                   "save it as UTF-8") from None
    if not text.strip():
        raise fail("is empty; a design needs lab, scenario, phase, underlay, overlay, ipsec, routing, "
                   "hubs and spokes (see topologies/phase3.yml)")
    return text


def load_yaml(path: Path) -> Any:
    """Parse a YAML file; a syntax error becomes a DesignError naming file and line."""
    text = read_design_text(path)
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        reason = exc.problem or exc.context or "invalid YAML"
        raise DesignError([f"{path}{line}: invalid YAML: {reason}"]) from None
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())
        raise DesignError([f"{path}: invalid YAML: {reason}"]) from None
    except RecursionError:
        raise DesignError([f"{path}: invalid YAML: nested too deeply"]) from None
