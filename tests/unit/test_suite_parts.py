"""Which checks a design gets, pinned per committed design: ids in order and each check's needs. The suites are
composed from what a design contains: every design gets its phase's story (a hub pair and a cluster too) and
encryption, beside what else it contains; a part left out says why."""

from __future__ import annotations

import pytest

from labkit.design import load_design
from labkit.design.catalog import edge_cases
from labkit.verify.suites import parts_for, suite_for
from labkit.verify.suites.edge import CASES
from tests.conftest import TOPOLOGIES

# what every later check needs: the designed state of one hub, a hub pair (with BFD), a cluster (VRRP first)
ONE_HUB = ("nhrp.registrations.hub1", "nhrp.nhs", "ipsec.hub_spoke_sas", "routing.bgp_sessions", "routing.spoke_routes",
           "routing.hub_routes")
HUB_PAIR = ("nhrp.registrations.hub1", "nhrp.registrations.hub2", "nhrp.nhs", "ipsec.hub_spoke_sas",
            "routing.bgp_sessions", "routing.bfd_sessions", "routing.spoke_routes", "routing.hub_routes")
CLUSTER = ("cluster.vrrp", "nhrp.registrations.hub1", "nhrp.nhs", "ipsec.hub_spoke_sas", "routing.bgp_sessions",
           "routing.bfd_sessions", "routing.spoke_routes", "routing.hub_routes")



def _phase3_story(base: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The phase 3 story's checks and needs, on a design whose designed state is `base` (one hub, a pair, a cluster)."""
    steps = ("phase3.shortcut_absent", "paths.via_hub", "phase3.shortcut_installed", "paths.direct",
             "ipsec.spoke_spoke_sa", "ipsec.transport_capture", "paths.full_mesh", "phase3.shortcut_purged")
    ids = [f"{step}.spoke1-spoke2" if step != "paths.full_mesh" else step for step in steps]
    return {check: (*ids[n - 1:n], *base) for n, check in enumerate(ids)}


EXPECTED: dict[str, dict[str, tuple[str, ...]]] = {
    "phase1": {
        "nhrp.registrations.hub1": (),
        "nhrp.nhs": (),
        "ipsec.hub_spoke_sas": (),
        "routing.bgp_sessions": (),
        "routing.spoke_routes": ("routing.bgp_sessions",),
        "routing.hub_routes": ("routing.bgp_sessions",),
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
        "routing.hub_routes": ("routing.bgp_sessions",),
        "phase2.no_tunnel_before.spoke1-spoke2": ONE_HUB,
        "phase2.tunnel_on_demand.spoke1-spoke2": ("phase2.no_tunnel_before.spoke1-spoke2", *ONE_HUB),
        "paths.direct.spoke1-spoke2": ("phase2.tunnel_on_demand.spoke1-spoke2", *ONE_HUB),
        "ipsec.transport_capture.spoke1-spoke2": ("paths.direct.spoke1-spoke2", *ONE_HUB),
        "paths.full_mesh": ("ipsec.transport_capture.spoke1-spoke2", *ONE_HUB),
        "ipsec.esp_counters.spoke1": ONE_HUB,
        "ipsec.transport_capture": ONE_HUB,
    },
    "phase3": {
        "nhrp.registrations.hub1": (),
        "nhrp.nhs": (),
        "ipsec.hub_spoke_sas": (),
        "routing.bgp_sessions": (),
        "routing.spoke_routes": ("routing.bgp_sessions",),
        "routing.hub_routes": ("routing.bgp_sessions",),
        **_phase3_story(ONE_HUB),
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
        "routing.hub_routes": ("routing.bgp_sessions",),
        **_phase3_story(HUB_PAIR),
        "failover.preferred.hub1": ("phase3.shortcut_purged.spoke1-spoke2", *HUB_PAIR),
        "ipsec.esp_counters.spoke1": HUB_PAIR,
        "ipsec.transport_capture": HUB_PAIR,
        "failover.wan_down": ("failover.preferred.hub1",),
        "failover.hub_fail": ("failover.preferred.hub1",),
        "failover.shortcut_survives": ("failover.hub_fail",),
        "failover.hub_return": ("failover.preferred.hub1",),
        "failover.spoke_restart": ("failover.preferred.hub1",),
        "failover.ipsec_restart": ("failover.preferred.hub1",),
        "failover.long_outage": ("failover.preferred.hub1",),
    },
    "cluster": {
        "cluster.vrrp": (),
        "nhrp.registrations.hub1": (),
        "nhrp.nhs": (),
        "ipsec.hub_spoke_sas": (),
        "routing.bgp_sessions": (),
        "routing.bfd_sessions": (),
        "routing.spoke_routes": ("routing.bgp_sessions",),
        "routing.hub_routes": ("routing.bgp_sessions",),
        **_phase3_story(CLUSTER),
        "ipsec.esp_counters.spoke1": CLUSTER,
        "ipsec.transport_capture": CLUSTER,
        "cluster.active_fails": ("phase3.shortcut_purged.spoke1-spoke2",),
        "nhrp.registrations.hub2.after_takeover": (),
        "ipsec.hub_spoke_sas.after_takeover": (),
        "paths.full_mesh.after_takeover": (),
    },
    "scale": {
        "nhrp.registrations.hub1": (),
        "nhrp.nhs": (),
        "ipsec.hub_spoke_sas": (),
        "routing.bgp_sessions": (),
        "routing.spoke_routes": ("routing.bgp_sessions",),
        "routing.hub_routes": ("routing.bgp_sessions",),
        "phase3.sampled_shortcuts": ONE_HUB,
        "ipsec.transport_capture.spoke1-spoke2": ("phase3.sampled_shortcuts", *ONE_HUB),
        "paths.hubs_and_sample": ("ipsec.transport_capture.spoke1-spoke2", *ONE_HUB),
        "ipsec.esp_counters.spoke1": ONE_HUB,
        "ipsec.transport_capture": ONE_HUB,
    },
}
EXPECTED["mpls"] = {  # the phase 1 story and encryption in the global table, the VPN checks beside them
    **EXPECTED["phase1"],
    "mpls.vpn_sessions": ONE_HUB,
    "mpls.vrf_routes": ("mpls.vpn_sessions", *ONE_HUB),
    "mpls.no_leaks": ("mpls.vrf_routes",),
    "mpls.reachability.CORP": ("mpls.vrf_routes",),
    "mpls.reachability.ATM": ("mpls.vrf_routes",),
    "mpls.isolation": ("mpls.vrf_routes",),
    "mpls.labels_on_the_wire.CORP": ("mpls.vrf_routes",),
    "mpls.labels_on_the_wire.ATM": ("mpls.vrf_routes",),
}

EXPECTED["keptout"] = {  # the sampled story (4 spokes), then the misconfigurations in two lanes from its end:
    # spoke3 the 1st, 3rd, 5th, spoke4 the 2nd, 4th; each restore once its proofs ended (see test_keptout)
    **EXPECTED["scale"],
    "keptout.wrong_psk.applied": ('paths.hubs_and_sample',),
    "keptout.wrong_psk.out": ('keptout.wrong_psk.applied',),
    "keptout.wrong_psk.unreachable": ('keptout.wrong_psk.out',),
    "keptout.wrong_psk.others_undisturbed": ('keptout.wrong_psk.out',),
    "keptout.wrong_psk.restored": ('paths.hubs_and_sample',),
    "keptout.wrong_psk.joined": ('keptout.wrong_psk.restored',),
    "keptout.ike_proposal_mismatch.applied": ('paths.hubs_and_sample',),
    "keptout.ike_proposal_mismatch.out": ('keptout.ike_proposal_mismatch.applied',),
    "keptout.ike_proposal_mismatch.unreachable": ('keptout.ike_proposal_mismatch.out',),
    "keptout.ike_proposal_mismatch.others_undisturbed": ('keptout.ike_proposal_mismatch.out',),
    "keptout.ike_proposal_mismatch.restored": ('paths.hubs_and_sample',),
    "keptout.ike_proposal_mismatch.joined": ('keptout.ike_proposal_mismatch.restored',),
    "keptout.esp_proposal_mismatch.applied": ('keptout.wrong_psk.joined',),
    "keptout.esp_proposal_mismatch.out": ('keptout.esp_proposal_mismatch.applied',),
    "keptout.esp_proposal_mismatch.unreachable": ('keptout.esp_proposal_mismatch.out',),
    "keptout.esp_proposal_mismatch.others_undisturbed": ('keptout.esp_proposal_mismatch.out',),
    "keptout.esp_proposal_mismatch.restored": ('keptout.wrong_psk.joined',),
    "keptout.esp_proposal_mismatch.joined": ('keptout.esp_proposal_mismatch.restored',),
    "keptout.gre_key_mismatch.applied": ('keptout.ike_proposal_mismatch.joined',),
    "keptout.gre_key_mismatch.out": ('keptout.gre_key_mismatch.applied',),
    "keptout.gre_key_mismatch.unreachable": ('keptout.gre_key_mismatch.out',),
    "keptout.gre_key_mismatch.others_undisturbed": ('keptout.gre_key_mismatch.out',),
    "keptout.gre_key_mismatch.restored": ('keptout.ike_proposal_mismatch.joined',),
    "keptout.gre_key_mismatch.joined": ('keptout.gre_key_mismatch.restored',),
    "keptout.nhrp_network_id_mismatch.applied": ('keptout.esp_proposal_mismatch.joined',),
    "keptout.nhrp_network_id_mismatch.stays_in": ('keptout.nhrp_network_id_mismatch.applied',),
    "keptout.nhrp_network_id_mismatch.restored": ('keptout.esp_proposal_mismatch.joined',),
    "keptout.nhrp_network_id_mismatch.joined": ('keptout.nhrp_network_id_mismatch.restored',),
}

EXPECTED["edge"] = {  # phase 3's checks, then each declared edge case from the end of the story, each alone
    **EXPECTED["phase3"],
    "mtu.boundary": ("phase3.shortcut_purged.spoke1-spoke2",),
    "mtu.mss_clamped": ("phase3.shortcut_purged.spoke1-spoke2",),
    "pmtud.learned": ("phase3.shortcut_purged.spoke1-spoke2",),
    "pmtud.black_hole": ("phase3.shortcut_purged.spoke1-spoke2",),
    "edge.underlay_blocked.stand_in_gap": ("phase3.shortcut_purged.spoke1-spoke2",),
    "edge.rekey": ("phase3.shortcut_purged.spoke1-spoke2",),
    "edge.wan_address_change": ("phase3.shortcut_purged.spoke1-spoke2",),
}

EXPECTED["nat"] = {  # phase 3's checks (spoke1 behind a PAT, spoke2 public), the NAT state beside them, then after the
    # story the shortcut from behind a PAT and the two PATs' stand-in gap, each alone
    **EXPECTED["phase3"],
    "nat.mapped.hub1": ONE_HUB,
    "nat.udp_encapsulated.hub1": ONE_HUB,
    "nat.through_pat.hub1": ONE_HUB,
    "nat.outside_closed.hub1": ONE_HUB,
    "nat.shortcut.spoke1-spoke2": ("phase3.shortcut_purged.spoke1-spoke2",),
    "edge.pat_to_pat.stand_in_gap": ("phase3.shortcut_purged.spoke1-spoke2",),
}


def _ids_and_needs(checks) -> dict[str, tuple[str, ...]]:
    return {c.id: c.needs for c in checks}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_committed_design_gets_the_checks_its_contents_imply(name: str):
    checks = suite_for(load_design(TOPOLOGIES / f"{name}.yml"))
    assert list(_ids_and_needs(checks).items()) == list(EXPECTED[name].items())


def test_the_scale_design_keeps_its_checks_at_any_size():
    checks = suite_for(load_design(TOPOLOGIES / "scale.yml", ("spokes.count=20",)))
    assert list(_ids_and_needs(checks).items()) == list(EXPECTED["scale"].items())


def test_every_committed_design_is_pinned():
    assert sorted(p.stem for p in TOPOLOGIES.glob("*.yml")) == sorted(EXPECTED)


# -- designs no committed file has: what their contents give them --------------------------------------------

def _without_failover(name: str) -> str:
    """A committed design's text without its `failover:` section (the loss budget fault cases are held to)."""
    text = (TOPOLOGIES / f"{name}.yml").read_text()
    return text[:text.index("\nfailover:")] + "\n"


def _parts(design) -> list[str]:
    return [p.name.split(":")[0] for p in parts_for(design)]


def test_a_hub_pair_without_a_loss_budget_gets_its_story_but_no_fault_cases(write_design):
    design = load_design(write_design(_without_failover("failover")))
    assert _parts(design) == ["designed state", "phase 3", "hub pair", "encryption"]
    assert list(_ids_and_needs(suite_for(design)))[-3:] == [
        "failover.preferred.hub1", "ipsec.esp_counters.spoke1", "ipsec.transport_capture"]


def test_a_cluster_without_a_loss_budget_is_still_checked_through_its_active_unit(write_design):
    design = load_design(write_design(_without_failover("cluster")))
    assert _parts(design) == ["hub cluster", "designed state", "phase 3", "encryption"]
    assert list(_ids_and_needs(suite_for(design))) == list(EXPECTED["cluster"])[:18]


def test_a_phase_1_cloud_of_one_spoke_proves_reachability_and_encryption(write_design):
    text = (TOPOLOGIES / "phase1.yml").read_text().replace("count: 3", "count: 1")
    ids = list(_ids_and_needs(suite_for(load_design(write_design(text)))))
    assert ids[-3:] == ["paths.full_mesh", "ipsec.esp_counters.spoke1", "ipsec.transport_capture"]


def test_phase_3_past_the_full_mesh_samples_its_shortcuts():
    design = load_design(TOPOLOGIES / "phase3.yml", ("spokes.count=4",))
    assert _parts(design) == ["designed state", "phase 3 at scale", "encryption"]
    assert list(_ids_and_needs(suite_for(design)).items()) == list(EXPECTED["scale"].items())


# -- a user's own design file -------------------------------------------------------------------------------

def own_design(label: str) -> str:
    """topologies/phase3.yml as a user copies it: under a lab name of their own, with a `scenario:` label or none."""
    text = (TOPOLOGIES / "phase3.yml").read_text()
    return text.replace("lab: dmvpn-phase3\n", f"lab: mine\n{label}")


@pytest.mark.parametrize("label", ["", "scenario: mine\n", "scenario: phase3\n", "scenario: failover\n"],
                         ids=["no label", "its own label", "a borrowed label", "another design's label"])
def test_a_users_own_design_gets_the_checks_its_contents_imply(write_design, label: str):
    design = load_design(write_design(own_design(label)))
    assert design.lab == "mine" and design.scenario == (label.split(": ")[1].strip() if label else None)
    assert list(_ids_and_needs(suite_for(design)).items()) == list(EXPECTED["phase3"].items())


def test_edge_cases_run_alone_after_the_story_in_the_order_the_design_lists_them(write_design):
    text = (TOPOLOGIES / "edge.yml").read_text().replace(
        "cases: [mtu, pmtud, underlay_blocked, rekey, wan_address_change]", "cases: [underlay_blocked, mtu]")
    checks = suite_for(load_design(write_design(text)))
    assert [c.id for c in checks[-3:]] == ["edge.underlay_blocked.stand_in_gap", "mtu.boundary", "mtu.mss_clamped"]
    assert [c.alone for c in checks[-3:]] == [True, False, True]  # the MSS case takes the LAN: alone


def test_every_case_of_the_catalogue_has_its_checks():
    assert list(CASES) == list(edge_cases())
