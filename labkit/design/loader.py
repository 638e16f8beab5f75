"""YAML loading that remembers the line of every key and list item, for precise error messages."""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from dataclasses import dataclass
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
        raise fail("is empty; a design needs lab, phase, underlay, overlay, ipsec, routing, "
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


@dataclass(frozen=True)
class Override:
    """A design field set on the command line (`--set FIELD=VALUE`), applied to the raw document before the
    design is validated, so that a wrong value is reported like one in the file."""

    keys: tuple[str, ...]
    value: Any
    given: str  # as typed, to name it in messages

    @property
    def field(self) -> str:
        return ".".join(self.keys)


def parse_override(given: str) -> Override:
    """`spokes.count=50` -> Override(("spokes", "count"), 50); the value is read as YAML (a number, a word,
    [a, list]); a malformed one is a DesignError naming it."""
    field, equals, text = given.partition("=")
    keys = tuple(key.strip() for key in field.split("."))
    if not equals or not all(keys):
        raise DesignError([f"--set {given}: write FIELD=VALUE with the field's dotted path, e.g. spokes.count=50"])
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        raise DesignError([f"--set {given}: {text!r} is not a YAML value"]) from None
    return Override(keys, value, given)


def apply_overrides(source: Path, raw: Any, overrides: Sequence[Override]) -> Any:
    """The raw document with each override set in turn (missing mappings on its path are added); a path
    through something that is not a mapping is a DesignError naming the override."""
    if not isinstance(raw, dict):
        return raw  # validation reports the document itself
    for override in overrides:
        mapping = raw
        for depth, key in enumerate(override.keys[:-1], start=1):
            if key not in mapping:
                _put(mapping, key, _empty_mapping(getattr(mapping, "line", 0)))
            mapping = mapping[key]
            if not isinstance(mapping, dict):
                raise DesignError([f"{source} (--set {override.given}): {'.'.join(override.keys[:depth])} is not a "
                                   "mapping of fields; --set reaches fields of mappings only"])
        _put(mapping, override.keys[-1], override.value)
    return raw


def _put(mapping: dict, key: str, value: Any) -> None:
    """Set a key; a new key of a LineDict is placed on the mapping's own line."""
    mapping[key] = value
    if isinstance(mapping, LineDict):
        mapping.key_lines.setdefault(key, mapping.line)


def _empty_mapping(line: int) -> LineDict:
    mapping = LineDict()
    mapping.line = line
    mapping.key_lines = {}
    return mapping
