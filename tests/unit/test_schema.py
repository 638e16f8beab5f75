"""The design files' JSON Schema and field reference: committed as `labkit schema` generates them, every design
valid, and every malformed design the parser rejects for a value's type, form or allowed values (the cases of the
design tests) rejected by the schema too.

Knowingly not covered by the schema, which states each value alone: rules across fields, and what an address holds
beyond its form. The malformed cases of the design tests that only these catch are asserted to pass the schema, so
that this list stays true: a network with host bits set; networks overlapping each other; a pool too small for its
spokes; spokes.lan_prefixlen not longer than the pool's; sa_lifetime not shorter than ike_lifetime; too few spokes
for the phase; the number of hubs headquarters, failover and MPLS need; a hub's LAN off the HQ segment or on an
address already used; a VRF name or id used twice; nat.spokes naming a hub, no spoke, or every spoke in phase 3; a
case on spokes behind PATs it was not proven with, or with too few of them. Beyond these cases, every other rule of
labkit/design/build.py's cross-field checks (unique names and tunnel addresses, what a phase or a case needs...).
A `--set` path through a value that is no mapping is refused before there is a design to check."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from labkit import cli
from labkit.design import load_design, reference, schema
from labkit.design.loader import apply_overrides, load_yaml, parse_override
from labkit.errors import DesignError
from tests.conftest import DESIGNS, ROOT, TOPOLOGIES
from tests.unit import test_design, test_design_set, test_lifetimes

REFRESH = "run `labkit schema` in the checkout to refresh it"
PHASE3 = test_design.PHASE3
# the parser's reasons about one value, each of which the schema states
SHAPE = re.compile(
    r"unknown field|must be a mapping of fields|must be a list|must be a whole number|must be from \d+ to|"
    r"must be a text of at least|is not allowed|unknown value|unknown ESR model|is not a \w+ model|"
    r"is not an IPv4|must be an IPv4|unknown case|unknown misconfiguration|lists a \w+ twice|needs at least one hub")
# reasons across fields or about an address's value: out of the schema's reach (the module's docstring)
ACROSS = re.compile(
    r"host bits set|overlaps|has room for|must be longer than|must be shorter than|needs at least \d+ spokes|"
    r"need a 'headquarters'|hub failover needs|is not on the HQ segment|is already used by|"
    r"through one hub|is used by more than one VRF|is a hub;|no spoke is named|every spoke is behind a PAT|"
    r"is proven with public WAN addresses only|spokes behind their own PATs")


def validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(schema.design_schema())


def test_the_committed_schema_is_the_generated_one():
    assert (ROOT / schema.PATH).read_text() == schema.schema_text(), f"{schema.PATH} is out of date: {REFRESH}"


def test_the_committed_reference_is_the_generated_one():
    assert (ROOT / reference.PATH).read_text() == reference.reference_markdown(), \
        f"{reference.PATH} is out of date: {REFRESH}"


def test_the_schema_is_draft_7():
    jsonschema.Draft7Validator.check_schema(schema.design_schema())


@pytest.mark.parametrize("design", DESIGNS, ids=[p.name for p in DESIGNS])
def test_every_design_is_valid(design: Path):
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(load_yaml(design))]
    assert not errors, errors


def test_every_committed_design_names_the_schema_on_its_first_line():
    for design in sorted(TOPOLOGIES.glob("*.yml")):
        assert design.read_text().splitlines()[0] == "# yaml-language-server: $schema=../schema/design.schema.json"


def _parameters(test) -> list[Any]:
    """The parameters of a parametrized test, as its decorator lists them."""
    [mark] = [m for m in test.pytestmark if m.name == "parametrize"]
    return list(mark.args[1])


MALFORMED: list[tuple[str, str, tuple[str, ...]]] = [  # (case, design text, --set options)
    *((f"design-{n}", PHASE3.replace(old, new, 1), ())
      for n, ((old, new), _) in enumerate(_parameters(test_design.test_bad_design_names_file_line_field_and_fix))),
    *((f"failover-{n}", re.sub(pattern, new, test_design.FAILOVER, count=1), ())
      for n, ((pattern, new), _) in enumerate(_parameters(test_design.test_bad_failover_design))),
    *((f"mpls-{n}", test_design.MPLS.replace(old, new, 1), ())
      for n, ((old, new), _) in enumerate(_parameters(test_design.test_bad_mpls_design))),
    *((f"nat-{n}", test_design.NAT.replace(old, new, 1), ())
      for n, ((old, new), _) in enumerate(_parameters(test_design.test_bad_nat_section_names_file_line_field_and_fix))),
    *((f"lifetime-{n}", PHASE3.replace("  dpd_interval: 10\n", "  dpd_interval: 10\n" + lines, 1), ())
      for n, (lines, _) in enumerate(_parameters(test_lifetimes.test_a_wrong_lifetime_names_file_line_field_and_fix))),
    *((f"set-{given}", PHASE3, (given,))
      for given, _ in _parameters(test_design_set.test_a_wrong_override_is_reported_naming_the_option)),
    # the cases test_design.py asserts inline
    ("misconfigure-unknown", PHASE3 + "misconfigure: [wrong_key]\n", ()),
    ("misconfigure-not-a-list", PHASE3 + "misconfigure: wrong_psk\n", ()),
    ("cases-unknown", PHASE3 + "cases: [mtu, jumbo]\n", ()),
    ("cases-twice", PHASE3 + "cases: [mtu, mtu]\n", ()),
    ("no-hub", re.sub(r"hubs:\n(  .*\n)+", "hubs: []\n", PHASE3), ()),
    ("a-list", "- a\n", ()),
]


@pytest.mark.parametrize(("text", "overrides"), [(t, o) for _, t, o in MALFORMED], ids=[c for c, _, _ in MALFORMED])
def test_the_schema_rejects_what_the_parser_rejects_for_a_values_type_form_or_allowed_values(
        write_design, text: str, overrides: tuple[str, ...]):
    path = write_design(text)
    try:
        document = apply_overrides(path, load_yaml(path), [parse_override(o) for o in overrides])
    except DesignError:  # the option is refused before a design exists (--set lab.name): no document to validate
        with pytest.raises(DesignError):
            load_design(path, overrides)
        return
    with pytest.raises(DesignError) as info:
        load_design(path, overrides)
    reasons = [p.split(": ", 1)[1] for p in info.value.problems]
    unclassified = [r for r in reasons if not SHAPE.search(r) and not ACROSS.search(r)]
    assert not unclassified, f"classify these reasons in SHAPE or ACROSS: {unclassified}"
    shape = [r for r in reasons if SHAPE.search(r) and not ACROSS.search(r)]
    assert validator().is_valid(document) == (not shape), reasons


def test_labkit_schema_writes_the_schema_and_the_reference(tmp_path: Path, capsys):
    out, markdown = tmp_path / "design.schema.json", tmp_path / "reference" / "design.md"
    assert cli.main(["-q", "schema", "--out", str(out), "--markdown", str(markdown)]) == 0
    assert (out.read_text(), markdown.read_text()) == (schema.schema_text(), reference.reference_markdown())
    assert cli.main(["-q", "schema", "--out", "-"]) == 0
    assert capsys.readouterr().out == schema.schema_text()
