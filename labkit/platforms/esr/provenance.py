"""Where each emitted ESR line comes from: classified by labkit/platforms/esr/provenance.yml."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

# statuses whose lines a source shows as emitted (a fixed line is the corrected, confirmed form)
CONFIRMED = ("confirmed", "fixed")


@dataclass(frozen=True)
class Construct:
    """One ESR construct: its status, its source tag and the line prefixes that are it."""

    name: str
    status: str
    source: str
    match: tuple[str, ...]
    within: tuple[str, ...]  # top-level blocks it is limited to; empty: anywhere


@cache
def constructs() -> tuple[Construct, ...]:
    raw = yaml.safe_load(resources.files("labkit.platforms.esr").joinpath("provenance.yml").read_text())
    return tuple(Construct(name, c["status"], c["source"], tuple(c["match"]), tuple(c.get("in", ())))
                 for name, c in raw["constructs"].items())


@cache
def sources() -> dict[str, str]:
    return yaml.safe_load(resources.files("labkit.platforms.esr").joinpath("provenance.yml").read_text())["sources"]


UNKNOWN = Construct("unclassified", "assumed", "-", (), ())


def classify_line(line: str, block: str) -> Construct:
    """The construct a config line is (longest prefix; a block-specific match beats a generic one)."""
    best, score = UNKNOWN, (-1, False)
    for construct in constructs():
        if construct.within and not block.startswith(construct.within):
            continue
        for prefix in construct.match:
            candidate = (len(prefix), bool(construct.within))
            if line.startswith(prefix) and candidate > score:
                best, score = construct, candidate
    return best


def classify(config: str) -> list[Construct]:
    """One construct per emitted line (comments, blank lines and `exit` do not count)."""
    found, block = [], ""
    for raw in config.splitlines():
        line = raw.strip()
        if not line or line.startswith("!") or line == "exit":
            continue
        if raw == line:
            block = line
        found.append(classify_line(line, block))
    return found


def status_counts(config: str) -> Counter[str]:
    """Emitted lines per status."""
    return Counter(c.status for c in classify(config))


def confirmed_share(counts: Counter[str]) -> float:
    total = sum(counts.values())
    return sum(counts[s] for s in CONFIRMED) / total if total else 0.0


def header(config: str) -> list[str]:
    """Comment lines naming each construct the config uses, grouped by status, with its source."""
    used: dict[str, dict[str, Construct]] = {}
    for construct in classify(config):
        used.setdefault(construct.status, {})[construct.name] = construct
    lines = []
    for status, title in (("confirmed", "CONFIRMED (seen in real ESR configs, output or manuals)"),
                          ("fixed", "FIXED (labkit's earlier form was contradicted; now as the source shows)"),
                          ("assumed", "ASSUMED (no public evidence: check on a real ESR before relying on it)"),
                          ("contradicted", "CONTRADICTED (a source shows otherwise)")):
        if status in used:
            names = ", ".join(f"{c.name} [{c.source}]" for c in sorted(used[status].values(), key=lambda c: c.name))
            lines.append(f"! {title}:")
            lines += _wrap(names)
    return lines


def _wrap(text: str, width: int = 100) -> list[str]:
    lines, current = [], "!  "
    for word in text.split(" "):
        if len(current) + len(word) + 1 > width:
            lines.append(current.rstrip())
            current = "!  "
        current += " " + word
    return [*lines, current.rstrip()]
