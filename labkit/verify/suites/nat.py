"""Spokes behind their own PAT (`nat:`): beside the story, the hub maps each to its PAT's outside address (the spoke
claiming its inside one), their SAs ride UDP where public spokes' do not, traffic crosses each PAT both ways and
nothing unsolicited does; after the story (phase 3), a spoke behind a PAT builds a shortcut to a public spoke that
carries traffic. Two spokes behind PATs are the edge case `pat_to_pat` (labkit/data/cases.yml): a design lists it
in `cases:`."""

from __future__ import annotations

from labkit.verify.checks import nat
from labkit.verify.engine import Check
from labkit.verify.schedule import after
from labkit.verify.suites.part import Part, Suite, field, phase

BEHIND_PATS = field("nat", lambda design: design.nat)


def _state(suite: Suite) -> list[Check]:
    design = suite.checked
    return after(suite.base, *(check for hub in design.hubs for check in (
        nat.mapped_outside(design, hub), nat.udp_encapsulated(design, hub), nat.through_pat(design, hub),
        nat.outside_closed(design, hub))))


def _shortcut(suite: Suite) -> list[Check]:
    design = suite.checked
    public = next(s for s in design.spokes if not s.inside)  # validation keeps one in a cloud with shortcuts
    return after(suite.ready, nat.shortcut_from_behind(design, design.natted_spokes[0], public))


STATE = Part("spokes behind PATs: mapped to the outside address, NAT traversal, traffic through the PAT, closed to "
             "the rest",
             "alongside", (BEHIND_PATS,), _state)
SHORTCUT = Part("spokes behind PATs: a shortcut to a public spoke", "faults", (BEHIND_PATS, phase(3)), _shortcut)
