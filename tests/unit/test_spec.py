"""The declared design fields (labkit/design/spec.py) and the parser agree: every key the parser accepts is declared
and every declared key is accepted, and the fields it requires are the ones declared required."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from labkit.design import load_design, spec
from labkit.design.fields import Fields, Problems
from labkit.design.loader import LineDict
from labkit.design.spec import DESIGN, Items, Section
from labkit.errors import DesignError
from tests.conftest import DESIGNS


def every_field(section: Section = DESIGN, path: str = "") -> list[tuple[str, spec.Field]]:
    """Every declared field with its path (a list's items under the list's: `hubs.name`)."""
    found = []
    for field in section.fields:
        where = f"{path}.{field.key}".lstrip(".")
        found.append((where, field))
        if mapping(field):
            found += every_field(mapping(field), where)
    return found


def mapping(field: spec.Field) -> Section | None:
    """The mapping a field holds, itself or as each item of its list."""
    inner = field.kind.item if isinstance(field.kind, Items) else field.kind
    return inner if isinstance(inner, Section) else None


FIELDS = every_field()
CONTAINERS = [(path, field) for path, field in FIELDS if mapping(field)]


def skeleton(section: Section = DESIGN) -> dict[str, Any]:
    """A document of every declared mapping, empty but for the mappings in it; a list of mappings holds one."""
    document: dict[str, Any] = {}
    for field in section.fields:
        if isinstance(field.kind, Section):
            document[field.key] = skeleton(field.kind)
        elif isinstance(field.kind, Items):
            document[field.key] = [skeleton(field.kind.item)]
    return document


def problems_of(tmp_path: Path, document: dict[str, Any]) -> list[str]:
    path = tmp_path / "design.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    with pytest.raises(DesignError) as info:
        load_design(path)
    return info.value.problems


def required_reported(problems: list[str]) -> set[str]:
    """The fields reported missing, list indexes left out (`hubs[0].name` -> `hubs.name`)."""
    found = (re.search(r": (\S+): is required", p) for p in problems)
    return {re.sub(r"\[\d+\]", "", m.group(1)) for m in found if m}


def test_every_key_the_parser_takes_is_declared_and_every_declared_key_is_taken(monkeypatch, tmp_path):
    """Each mapping's keys as the parser knows them (those it does not report unknown), over every design and a
    document holding every declared mapping, are exactly the declared keys."""
    taken: dict[str, set[str]] = {}
    finish = Fields.finish

    def recording(self: Fields) -> None:
        taken.setdefault(re.sub(r"\[\d+\]", "", self.path), set()).update(self.taken)
        finish(self)

    monkeypatch.setattr(Fields, "finish", recording)
    for design in DESIGNS:
        load_design(design)
    problems_of(tmp_path, skeleton())
    declared: dict[str, set[str]] = {"": set()}
    for path, field in FIELDS:
        declared.setdefault(path.rpartition(".")[0], set()).add(field.key)
    assert taken == declared


def test_the_required_fields_are_the_ones_declared_required(tmp_path):
    """In a document of every mapping, empty, exactly the required values are reported missing."""
    values = {path for path, field in FIELDS if field.required and not mapping(field)}
    assert required_reported(problems_of(tmp_path, skeleton())) == values


@pytest.mark.parametrize(("path", "field"), CONTAINERS, ids=[path for path, _ in CONTAINERS])
def test_a_mapping_is_reported_missing_only_if_declared_required(tmp_path, path: str, field: spec.Field):
    document = skeleton()
    *parents, key = path.split(".")
    holder = document
    for parent in parents:
        holder = holder[parent][0] if isinstance(holder[parent], list) else holder[parent]
    del holder[key]
    assert (path in required_reported(problems_of(tmp_path, document))) == field.required


def test_only_a_derived_default_is_given_by_the_parser():
    fields = Fields(Problems(Path("design.yml")), LineDict(), "overlay")
    assert spec.take(fields, "holdtime") == 30
    with pytest.raises(TypeError, match=r"overlay\.holdtime: its default is declared in labkit/design/spec\.py"):
        spec.take(fields, "holdtime", default=60)
