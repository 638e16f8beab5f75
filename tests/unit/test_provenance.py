"""ESR provenance as data: lines classified by construct, headers and counts follow the data file."""

from __future__ import annotations

import pytest

from labkit.design import load_design
from labkit.plan import plan_design
from labkit.platforms.esr import provenance
from labkit.render.generate import device_config
from tests.conftest import TOPOLOGIES


def _construct(line: str, block: str = "") -> provenance.Construct:
    return provenance.classify_line(line, block or line)


def test_lines_are_classified_by_their_block():
    assert _construct("type transport", "security ipsec vpn DMVPN").status == "fixed"
    assert _construct("mode transport", "security ipsec vpn DMVPN").status == "contradicted"
    assert _construct("mode policy-based", "security ike gateway DMVPN").status == "confirmed"
    assert _construct("description \"IKE\"", "security zone-pair WAN self").status == "confirmed"
    assert _construct("description \"hub1\"", "router bgp 65000").status == "assumed"
    assert _construct("mpls enable", "tunnel gre 1").status == "contradicted"
    assert _construct("ip nhrp multicast nhs", "tunnel gre 1").status == "assumed"
    assert _construct("ip firewall disable", "tunnel gre 1").status == "fixed"  # the MPLS tunnel, per the manual
    assert _construct("ip firewall disable", "bridge 20").status == "confirmed"
    assert _construct("ip address 10.0.0.2/24 unit 2", "bridge 30").status == "fixed"  # no longer on a port
    assert _construct("description \"LAN\"", "interface te2/0/2").status == "confirmed"
    assert _construct("something new", "tunnel gre 1") is provenance.UNKNOWN


@pytest.mark.parametrize("design_file", sorted(TOPOLOGIES.glob("*.yml")), ids=lambda p: p.stem)
def test_generated_configs_emit_no_contradicted_or_unclassified_line(design_file):
    design = load_design(design_file)
    for site in design.sites:
        used = provenance.classify(device_config(design, site))
        assert not [c.name for c in used if c.status == "contradicted" or c is provenance.UNKNOWN]


def test_confirming_a_construct_is_one_line_in_the_data_file(monkeypatch):
    design = load_design(TOPOLOGIES / "phase3.yml")
    config = device_config(design, design.site("hub1"))
    before = provenance.status_counts(config)
    timers = next(c for c in provenance.constructs() if c.name == "bgp timers")
    confirmed = tuple(provenance.Construct(c.name, "confirmed", "B", c.match, c.within) if c is timers else c
                      for c in provenance.constructs())
    monkeypatch.setattr(provenance, "constructs", lambda: confirmed)
    after = provenance.status_counts(config)
    moved = before["assumed"] - after["assumed"]
    bgp = plan_design(design)["hub1"].bgp
    assert moved == 2 * (len(bgp.sessions) + 1)  # keepalive and holdtime per neighbour and the spokes' group
    assert provenance.confirmed_share(after) > provenance.confirmed_share(before)
    assert "bgp timers [B]" in "\n".join(provenance.header(config))


def test_header_names_each_used_construct_with_its_source():
    design = load_design(TOPOLOGIES / "mpls.yml")
    config = device_config(design, design.site("hub1"))
    head = config.split("SECRET:")[0]
    assert "ipsec vpn type [V]" in head and "mpls context [D]" in head and "ip vrf [-]" in head
    assert "nhrpd ignores any other prefix length" in head  # a stand-in difference from the plan
