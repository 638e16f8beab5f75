"""Design shapes no committed file has, phase x hubs (one, a pair, a cluster) x MPLS x NAT x spoke count: each either
gets every part its contents imply (its phase's story whatever its hubs, encryption hub-spoke always and
spoke-to-spoke where spokes build tunnels, its services and fault cases beside them), every other part listed with
why it is left out, or is refused by validation with a message naming the conflict."""

from __future__ import annotations

import itertools
import re

import pytest

from labkit.design import load_design
from labkit.errors import DesignError
from labkit.verify.suites import PARTS, considered, suite_for
from tests.conftest import TOPOLOGIES

BASES = {"one hub": "phase3.yml", "hub pair": "failover.yml", "cluster": "cluster.yml"}
_MPLS = (TOPOLOGIES / "mpls.yml").read_text()
MPLS_SECTION = _MPLS[_MPLS.index("\nmpls:"):_MPLS.index("\nhubs:")]
SHAPES = list(itertools.product(BASES, (1, 2, 3), (False, True), (False, True), (1, 3, 5)))
# conflicts validation refuses, each with its message: (what in the message, when)
REFUSED = {
    "MPLS over DMVPN relays spoke-to-spoke VPN traffic through one hub": lambda hubs, phase, mpls, nat, n:
        mpls and hubs != "one hub",
    "need a design with one hub": lambda hubs, phase, mpls, nat, n: nat and hubs != "one hub",
    "needs at least 2 spokes": lambda hubs, phase, mpls, nat, n: phase > 1 and n < 2,
    "two spokes behind PATs cannot build one": lambda hubs, phase, mpls, nat, n: phase > 1 and nat and n < 2,
}


def _shape_id(shape: tuple) -> str:
    hubs, phase, mpls, nat, spokes = shape
    return f"{hubs}, phase {phase}{', MPLS' if mpls else ''}{', NAT' if nat else ''}, {spokes} spokes"


def _design(write_design, hubs: str, phase: int, mpls: bool, nat: bool, spokes: int):
    text = re.sub(r"^phase: \d", f"phase: {phase}", (TOPOLOGIES / BASES[hubs]).read_text(), flags=re.M)
    text += (MPLS_SECTION + "\n" if mpls else "") + ("\nnat:\n  spokes: [spoke1]\n" if nat else "")
    sets = [f"spokes.count={spokes}"] + (["routing.hub_advertises=all"] if phase == 2 else [])
    return load_design(write_design(text), sets)


def _expected_parts(hubs: str, phase: int, mpls: bool, nat: bool, spokes: int) -> list[str]:
    """The parts (their names before the colon) the shape's contents imply, in the registry's order."""
    phase_story = {1: "phase 1" if spokes >= 2 else None, 2: "phase 2",
                   3: "phase 3" if spokes <= 3 else "phase 3 at scale"}[phase]
    measured = spokes >= 3  # every base design states a loss budget
    return [p for p, wanted in [
        ("hub cluster", hubs == "cluster"), ("designed state", True),
        (phase_story, phase_story is not None), ("reachability between the LANs", phase_story is None),
        ("hub pair", hubs == "hub pair"),
        ("encryption", True), ("MPLS L3VPN", mpls), ("spokes behind PATs", nat),
        ("hub pair failover", hubs == "hub pair" and measured),
        ("hub cluster takeover", hubs == "cluster" and measured),
        ("spokes behind PATs", nat and phase == 3),
    ] if wanted]


@pytest.mark.parametrize("shape", SHAPES, ids=[_shape_id(s) for s in SHAPES])
def test_every_shape_gets_the_parts_its_contents_imply_or_is_refused_saying_why(write_design, shape: tuple):
    refusals = [text for text, when in REFUSED.items() if when(*shape)]
    if refusals:
        with pytest.raises(DesignError) as info:
            _design(write_design, *shape)
        assert any(text in problem for text in refusals for problem in info.value.problems), info.value.problems
        return
    design = _design(write_design, *shape)
    seen = considered(design)
    assert [c.part for c in seen] == list(PARTS)  # every part considered
    assert [c.part.name.split(":")[0] for c in seen if c.left_out is None] == _expected_parts(*shape)
    assert all(c.left_out for c in seen if c.part.name.split(":")[0] not in _expected_parts(*shape))
    ids = [c.id for c in suite_for(design)]
    assert {"ipsec.esp_counters.spoke1", "ipsec.transport_capture"} <= set(ids)  # encryption on every shape
    if shape[1] > 1:  # spokes build tunnels to each other: their traffic is seen as ESP only too
        assert any(i.startswith("ipsec.transport_capture.spoke") for i in ids), ids
    assert len(ids) == len(set(ids))  # a check two stories share is told once


def test_a_left_out_part_says_why_in_the_suite_listing(write_design):
    design = _design(write_design, "hub pair", 3, False, False, 3)
    why = {c.part.name.split(":")[0]: c.left_out for c in considered(design) if c.left_out}
    assert why["phase 2"] == "the design is phase 3, not 2"
    assert why["reachability between the LANs"] == "the phase story proves it (phase 3)"
    assert why["MPLS L3VPN"] == "no `mpls:` in the design"
    assert why["hub cluster"] == "no hub cluster (`cluster:`)"
