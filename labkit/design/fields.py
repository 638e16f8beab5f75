"""Reading one mapping of a design file field by field, collecting every problem with its line."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any

from labkit.design.loader import LineDict

REQUIRED = object()
DEFAULT = object()  # a default that depends on other fields, resolved once they are known


class Problems:
    """Collects `file:line: field.path: reason` lines; a problem with a field set on the command line (or with
    the mapping holding it) names the option instead of a line: `file (--set spokes.count=0): ...`."""

    def __init__(self, source: Path, overrides: dict[str, str] | None = None):
        self.source = source
        self.overrides = overrides or {}  # field path -> the `--set` option as given
        self.lines: list[str] = []

    def add(self, line: int | None, path: str, reason: str) -> None:
        where = self._where(line, path)
        self.lines.append(f"{where}: {path}: {reason}" if path else f"{where}: {reason}")

    def _where(self, line: int | None, path: str) -> str:
        given = next((g for field, g in self.overrides.items() if path in (field, *_parents(field))), None)
        if given:
            return f"{self.source} (--set {given})"
        return f"{self.source}:{line}" if line else str(self.source)


def _parents(field: str) -> list[str]:
    """`a.b.c` -> ['a', 'a.b']."""
    keys = field.split(".")
    return [".".join(keys[:n]) for n in range(1, len(keys))]


class Invalid(ValueError):
    """Raised by a converter; its message is the reason shown to the user."""


class Fields:
    """One mapping of the design: `take` each known key, then `finish` reports the unknown ones."""

    def __init__(self, problems: Problems, value: Any, path: str, parent_line: int | None = None, fix: str = ""):
        self.problems = problems
        self.path = path
        self.ok = isinstance(value, dict)
        self.mapping: dict = value if self.ok else {}
        self.line = getattr(value, "line", None) or parent_line
        self.taken: set[str] = set()
        self.missing: dict[str, str] = {}  # required key -> reason, reported by `finish`
        if not self.ok:
            found = f"must be a mapping of fields, found {kind(value)}"
            problems.add(parent_line, path, f"{found}; {fix}" if fix else found)

    def key_line(self, key: str) -> int | None:
        lines = getattr(self.mapping, "key_lines", {})
        return lines.get(key, self.line)

    def sub(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.mapping

    def require(self, key: str, reason: str = "is required") -> None:
        """Record that a required `key` is missing; `finish` reports it (once, and only if this is a mapping)."""
        if self.ok:
            self.missing[key] = reason

    def take(self, key: str, convert: Callable[[Any], Any], default: Any = REQUIRED,
             missing: str = "is required") -> Any:
        """The converted value of `key`, or None after recording why it is missing (`missing`) or wrong."""
        self.taken.add(key)
        if key not in self.mapping:
            if default is REQUIRED:
                self.require(key, missing)
                return None
            return default
        try:
            return convert(self.mapping[key])
        except Invalid as exc:
            self.problems.add(self.key_line(key), self.sub(key), str(exc))
            return None

    def fields(self, key: str, required: bool = True, fix: str = "") -> Fields:
        """The nested mapping under `key` (`fix`: what to write instead if it is not a mapping)."""
        self.taken.add(key)
        if key not in self.mapping and not required:
            return Fields(self.problems, LineDict(), self.sub(key), self.line)
        if key not in self.mapping:
            self.require(key)
            return Fields(Problems(self.problems.source), LineDict(), self.sub(key))
        return Fields(self.problems, self.mapping[key], self.sub(key), self.key_line(key), fix)

    def items(self, key: str) -> list[tuple[str, int | None, Any]]:
        """The list under `key` as (path, line, item) triples; records a problem if it is not a list."""
        self.taken.add(key)
        value = self.mapping.get(key)
        if key not in self.mapping:
            self.require(key)
            return []
        if not isinstance(value, list):
            self.problems.add(self.key_line(key), self.sub(key), f"must be a list, found {kind(value)}")
            return []
        lines = getattr(value, "item_lines", [self.key_line(key)] * len(value))
        return [(f"{self.sub(key)}[{i}]", lines[i], item) for i, item in enumerate(value)]

    def finish(self) -> None:
        """Record every key nobody took, suggesting the closest known one, then every required key still
        missing; a misspelt required key is one problem, reported where it was written."""
        for key in self.mapping:
            if key in self.taken:
                continue
            close = difflib.get_close_matches(str(key), sorted(self.taken), n=1)
            if close and close[0] in self.missing:
                del self.missing[close[0]]
                hint = f"; did you mean '{close[0]}' (required)?"
            else:
                hint = f"; did you mean '{close[0]}'?" if close else f"; known fields: {', '.join(sorted(self.taken))}"
            self.problems.add(self.key_line(key), self.sub(str(key)), f"unknown field{hint}")
        for key, reason in self.missing.items():
            self.problems.add(self.line, self.sub(key), reason)
        self.missing.clear()


def kind(value: Any) -> str:
    """How a YAML value is named in messages."""
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def integer(low: int, high: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"must be a whole number from {low} to {high}, found {value!r}")
        if not low <= value <= high:
            raise Invalid(f"must be from {low} to {high}, found {value}")
        return value

    return convert


def choice(*options: Any) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if value not in options:
            listed = ", ".join(str(o) for o in options)
            raise Invalid(f"unknown value {value!r}; use one of: {listed}")
        return value

    return convert


def text(pattern: str | None = None, hint: str = "", min_len: int = 1) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if not isinstance(value, str) or len(value) < min_len:
            raise Invalid(f"must be a text of at least {min_len} characters{hint}")
        if pattern and not re.fullmatch(pattern, value):
            raise Invalid(f"{value!r} is not allowed{hint}")
        return value

    return convert


def _scalar(value: Any, example: str) -> None:
    if isinstance(value, (dict, list)) or value is None:
        raise Invalid(f"must be {example}, found {kind(value)}")


def network(value: Any) -> IPv4Network:
    _scalar(value, "an IPv4 network like 10.255.0.0/24")
    try:
        return IPv4Network(str(value), strict=True)
    except ValueError as exc:
        raise Invalid(f"{value!r} is not an IPv4 network ({exc}); write it like 10.255.0.0/24") from None


def interface(value: Any) -> IPv4Interface:
    _scalar(value, "an IPv4 address with prefix like 10.0.0.1/24")
    try:
        iface = IPv4Interface(str(value))
    except ValueError:
        raise Invalid(f"{value!r} is not an IPv4 address with prefix; write it like 10.0.0.1/24") from None
    if iface.network.prefixlen < 31 and iface.ip in (iface.network.network_address, iface.network.broadcast_address):
        raise Invalid(f"{value} is the network or broadcast address; use a host address such as "
                      f"{next(iface.network.hosts())}/{iface.network.prefixlen}")
    return iface


def address(value: Any) -> IPv4Address:
    _scalar(value, "an IPv4 address like 10.255.0.1")
    try:
        return IPv4Address(str(value))
    except ValueError:
        raise Invalid(f"{value!r} is not an IPv4 address; write it like 10.255.0.1") from None
