"""The design-file reference (docs/reference/design.md), generated from the declared fields
(labkit/design/spec.py) like the JSON Schema: every field's path, type, default, allowed values and meaning."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from labkit.design import schema
from labkit.design.spec import DESIGN, Field, Items, Section

PATH = Path("docs/reference/design.md")
INTRO = f"""# Design file reference

<!-- {schema.GENERATED} -->

A design file is one YAML mapping; `topologies/` holds the committed ones. Every field is listed below by its
path (`hubs[].name`: the `name` of each item of the list `hubs`). labkit reports a wrong field as
`file:line: field.path: reason`. The same fields make the JSON Schema `{schema.PATH}`; an editor with a YAML
language server completes and checks a design that names it on its first line:

    # yaml-language-server: $schema=../{schema.PATH}

The schema checks each field's type, range, pattern and allowed values; rules across fields (overlapping
networks, pools too small for the spokes, unique names and addresses, what a phase or a case needs) are checked
by labkit alone (`labkit plan DESIGN` validates a design without a lab)."""


def reference_markdown() -> str:
    lines = [INTRO]
    for path, section, meaning in _sections(DESIGN, "", "The design's top level."):
        lines += ["", f"## `{path}`" if path else "## Top level", "", meaning]
        if section.one_of:
            lines += ["", f"Give exactly one of {', '.join(f'`{key}`' for key in section.one_of)}."]
        lines += ["", "| field | type | default | allowed values | meaning |", "|---|---|---|---|---|"]
        lines += [_row(f"{path}.{field.key}".lstrip("."), field) for field in section.fields]
    return "\n".join(lines) + "\n"


def _sections(section: Section, path: str, meaning: str) -> Iterator[tuple[str, Section, str]]:
    """Each mapping with its path (a list's items as `hubs[]`) and meaning, a mapping before those inside it."""
    yield path, section, meaning
    for field in section.fields:
        where = f"{path}.{field.key}".lstrip(".")
        if isinstance(field.kind, Section):
            yield from _sections(field.kind, where, field.meaning)
        elif isinstance(field.kind, Items):
            yield from _sections(field.kind.item, f"{where}[]", f"Each item of `{where}`: {_lower(field.meaning)}")


def _row(path: str, field: Field) -> str:
    kind = field.kind
    if isinstance(kind, Section):
        type_name, allowed = "mapping (below)", ""
    elif isinstance(kind, Items):
        type_name, allowed = "list of mappings (below)", f"at least {kind.min_items}" if kind.min_items else ""
    else:
        type_name, allowed = kind.type_name(), kind.allowed()
    meaning = " ".join(filter(None, (field.meaning, schema.goes_with(field))))
    cells = (f"`{path}`", type_name, _default(field), allowed, meaning)
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _default(field: Field) -> str:
    if field.required:
        return "required"
    if field.derived:
        return f"derived: {field.derived}"
    if field.default is None:
        return "absent" if isinstance(field.kind, Section | Items) else "unset"
    return f"`{_yaml(schema.plain(field.default))}`"


def _yaml(value: Any) -> str:
    if isinstance(value, list):
        return f"[{', '.join(map(_yaml, value))}]"
    return str(value) if value != "" else '""'


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]
