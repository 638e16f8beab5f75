"""Which checks a design gets, pinned per committed design: ids in order and each check's needs. The suites are
composed from what a design contains; these are the checks (and the order and needs) that each design had when
its suite was still a module picked by its `scenario` name, so the composition changes none of them."""

from __future__ import annotations

import pytest

from labkit.design import load_design
from labkit.verify.suites import suite_for
from tests.conftest import TOPOLOGIES

# what every later check needs: the designed state of one hub, a hub pair (with BFD), a cluster (VRRP first)
ONE_HUB = ("nhrp.registrations.hub1", "nhrp.nhs", "ipsec.hub_spoke_sas", "routing.bgp_sessions", "routing.spoke_routes")
HUB_PAIR = ("nhrp.registrations.hub1", "nhrp.registrations.hub2", "nhrp.nhs", "ipsec.hub_spoke_sas",
            "routing.bgp_sessions", "routing.bfd_sessions", "routing.spoke_routes")
CLUSTER = ("cluster.vrrp", "nhrp.registrations.hub1", "nhrp.nhs", "ipsec.hub_spoke_sas", "routing.bgp_sessions",
           "routing.bfd_sessions", "routing.spoke_routes")

EXPECTED: dict[str, dict[str, tuple[str, ...]]] = {
    "phase1": {
        "nhrp.registrations.hub1": (),
        "nhrp.nhs": (),
        "ipsec.hub_spoke_sas": (),
        "routing.bgp_sessions": (),
        "routing.spoke_routes": ("routing.bgp_sessions",),
        "paths.via_hub.spoke1-spoke2": ONE_HUB,
        "paths.sustained.spoke1-spoke2": ("paths.via_hub.spoke1-spoke2", *ONE_HUB),
        "paths.full_mesh": ("paths.sustained.spoke1-spoke2", *ONE_HUB),
        "phase1.no_spoke_peering": ("paths.full_mesh", *ONE_HUB),
        "ipsec.esp_counters.spoke1": ONE_HUB,
        "ipsec.transport_capture": ONE_HUB,
    },
    "phase2": {
        "nhrp.registrations.hub1": (),
        "nhrp.nhs": (),
        "ipsec.hub_spoke_sas": (),
        "routing.bgp_sessions": (),
        "routing.spoke_routes": ("routing.bgp_sessions",),
        "phase2.no_tunnel_before.spoke1-spoke2": ONE_HUB,
        "phase2.tunnel_on_demand.spoke1-spoke2": ("phase2.no_tunnel_before.spoke1-spoke2", *ONE_HUB),
        "paths.direct.spoke1-spoke2": ("phase2.tunnel_on_demand.spoke1-spoke2", *ONE_HUB),
        "paths.full_mesh": ("paths.direct.spoke1-spoke2", *ONE_HUB),
        "ipsec.esp_counters.spoke1": ONE_HUB,
        "ipsec.transport_capture": ONE_HUB,
    },
    "phase3": {
        "nhrp.registrations.hub1": (),
        "nhrp.nhs": (),
        "ipsec.hub_spoke_sas": (),
        "routing.bgp_sessions": (),
        "routing.spoke_routes": ("routing.bgp_sessions",),
        "phase3.shortcut_absent.spoke1-spoke2": ONE_HUB,
        "paths.via_hub.spoke1-spoke2": ("phase3.shortcut_absent.spoke1-spoke2", *ONE_HUB),
        "phase3.shortcut_installed.spoke1-spoke2": ("paths.via_hub.spoke1-spoke2", *ONE_HUB),
        "paths.direct.spoke1-spoke2": ("phase3.shortcut_installed.spoke1-spoke2", *ONE_HUB),
        "ipsec.spoke_spoke_sa.spoke1-spoke2": ("paths.direct.spoke1-spoke2", *ONE_HUB),
        "paths.full_mesh": ("ipsec.spoke_spoke_sa.spoke1-spoke2", *ONE_HUB),
        "phase3.shortcut_purged.spoke1-spoke2": ("paths.full_mesh", *ONE_HUB),
        "ipsec.esp_counters.spoke1": ONE_HUB,
        "ipsec.transport_capture": ONE_HUB,
    },
    "failover": {
        "nhrp.registrations.hub1": (),
        "nhrp.registrations.hub2": (),
        "nhrp.nhs": (),
        "ipsec.hub_spoke_sas": (),
        "routing.bgp_sessions": (),
        "routing.bfd_sessions": (),
        "routing.spoke_routes": ("routing.bgp_sessions",),
        "paths.full_mesh": HUB_PAIR,
        "failover.preferred.hub1": ("paths.full_mesh", *HUB_PAIR),
        "failover.wan_down": ("failover.preferred.hub1",),
        "failover.hub_fail": ("failover.preferred.hub1",),
        "failover.shortcut_survives": ("failover.hub_fail",),
        "failover.hub_return": ("failover.preferred.hub1",),
        "failover.spoke_restart": ("failover.preferred.hub1",),
        "failover.ipsec_restart": ("failover.preferred.hub1",),
    },
    "cluster": {
        "cluster.vrrp": (),
        "nhrp.registrations.hub1": (),
        "nhrp.nhs": (),
        "ipsec.hub_spoke_sas": (),
        "routing.bgp_sessions": (),
        "routing.bfd_sessions": (),
        "routing.spoke_routes": ("routing.bgp_sessions",),
        "paths.full_mesh": CLUSTER,
        "cluster.active_fails": ("paths.full_mesh",),
        "nhrp.registrations.hub2.after_takeover": (),
        "ipsec.hub_spoke_sas.after_takeover": (),
        "paths.full_mesh.after_takeover": (),
    },
    "mpls": {
        "nhrp.registrations.hub1": (),
        "nhrp.nhs": (),
        "ipsec.hub_spoke_sas": (),
        "routing.bgp_sessions": (),
        "routing.spoke_routes": ("routing.bgp_sessions",),
        "paths.full_mesh": ONE_HUB,
        "mpls.vpn_sessions": ONE_HUB,
        "mpls.vrf_routes": ("mpls.vpn_sessions", *ONE_HUB),
        "mpls.no_leaks": ("mpls.vrf_routes",),
        "mpls.reachability.CORP": ("mpls.vrf_routes",),
        "mpls.reachability.ATM": ("mpls.vrf_routes",),
        "mpls.isolation": ("mpls.vrf_routes",),
        "mpls.labels_on_the_wire.CORP": ("mpls.vrf_routes",),
        "mpls.labels_on_the_wire.ATM": ("mpls.vrf_routes",),
    },
    "scale": {
        "nhrp.registrations.hub1": (),
        "nhrp.nhs": (),
        "ipsec.hub_spoke_sas": (),
        "routing.bgp_sessions": (),
        "routing.spoke_routes": ("routing.bgp_sessions",),
        "phase3.sampled_shortcuts": ONE_HUB,
        "paths.hubs_and_sample": ("phase3.sampled_shortcuts", *ONE_HUB),
        "ipsec.transport_capture": ONE_HUB,
    },
}


def _ids_and_needs(checks) -> dict[str, tuple[str, ...]]:
    return {c.id: c.needs for c in checks}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_committed_design_gets_the_checks_it_always_had(name: str):
    checks = suite_for(load_design(TOPOLOGIES / f"{name}.yml"))
    assert list(_ids_and_needs(checks).items()) == list(EXPECTED[name].items())


def test_the_scale_design_keeps_its_checks_at_any_size():
    checks = suite_for(load_design(TOPOLOGIES / "scale.yml", ("spokes.count=20",)))
    assert list(_ids_and_needs(checks).items()) == list(EXPECTED["scale"].items())


def test_every_committed_design_is_pinned():
    assert sorted(p.stem for p in TOPOLOGIES.glob("*.yml")) == sorted(EXPECTED)
