"""The node plan: one golden per scenario, and the decisions that differ by phase, role and design."""

from __future__ import annotations

import os
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from labkit.design import load_design
from labkit.plan import plan_design
from labkit.plan.show import plan_yaml
from tests.conftest import GOLDEN, TOPOLOGIES

DESIGNS = sorted(TOPOLOGIES.glob("*.yml"))
UPDATE = os.environ.get("LABKIT_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("design_file", DESIGNS, ids=lambda p: p.stem)
def test_plan_matches_golden(design_file: Path, monkeypatch):
    monkeypatch.chdir(TOPOLOGIES.parent)
    text = plan_yaml(load_design(design_file.relative_to(TOPOLOGIES.parent)))
    golden = GOLDEN / "plans" / f"{design_file.stem}.yml"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text(), f"{golden} differs (LABKIT_UPDATE_GOLDEN=1 to accept)"


def _plans(scenario: str):
    return plan_design(load_design(TOPOLOGIES / f"{scenario}.yml"))


@pytest.mark.parametrize(("scenario", "vpns"), [("phase1", ["DMVPN-HUB"]),
                                                 ("phase2", ["DMVPN-HUB", "DMVPN-SPOKE"]),
                                                 ("phase3", ["DMVPN-HUB", "DMVPN-SPOKE"])])
def test_spokes_bind_a_dynamic_vpn_only_where_spoke_to_spoke_tunnels_exist(scenario: str, vpns: list[str]):
    plans = _plans(scenario)
    assert [(b.vpn, b.kind) for b in plans["hub1"].bindings] == [("DMVPN", "dynamic")]
    spoke = plans["spoke1"]
    assert [b.vpn for b in spoke.bindings] == vpns
    assert spoke.bindings[0].kind == "static"
    assert spoke.bindings[0].remote_networks == (IPv4Network(f"{plans['hub1'].nbma}/32"),)
    assert bool(spoke.bindings_note) == (len(vpns) == 1)  # the missing dynamic VPN is explained


def test_phase2_hub_redirects_only_in_the_stand_in():
    hub = _plans("phase2")["hub1"]
    assert not hub.nhrp.redirect and hub.stand_in.redirect_nflog
    assert any("phase 2" in r for r in hub.stand_in.reasons)
    hub3 = _plans("phase3")["hub1"]
    assert hub3.nhrp.redirect and hub3.stand_in.redirect_nflog
    assert not _plans("phase1")["hub1"].stand_in.redirect_nflog


def test_only_spokes_that_may_change_their_wan_address_answer_ike_on_any_address():
    edge = _plans("edge")  # its cases include wan_address_change
    assert edge["spoke1"].stand_in.ike_any_local_address and not edge["hub1"].stand_in.ike_any_local_address
    assert any("local_addrs %any" in r for r in edge["spoke1"].stand_in.reasons)
    assert not _plans("phase3")["spoke1"].stand_in.ike_any_local_address


def test_spokes_give_every_child_sa_one_reqid_so_that_keying_at_once_cannot_black_hole():
    from labkit.render.generate import node_files

    plans = _plans("phase3")
    assert [plans[n].stand_in.shared_reqid for n in ("hub1", "spoke1", "spoke3")] == [None, 1, 1]
    files = node_files(load_design(TOPOLOGIES / "phase3.yml"))
    assert "        reqid = 1\n" in files["nodes/spoke2/swanctl/swanctl.conf"][0]
    assert "reqid" not in files["nodes/hub1/swanctl/swanctl.conf"][0]


def test_spokes_register_with_every_hub_of_a_dual_hub_design():
    plans = _plans("failover")
    spoke = plans["spoke1"]
    assert [n.name for n in spoke.nhrp.nhs] == ["hub1", "hub2"]
    assert [s.address for s in spoke.bgp.sessions] == [plans["hub1"].tunnel.ip, plans["hub2"].tunnel.ip]
    assert len(spoke.bindings[0].remote_networks) == 2


def test_cluster_units_share_one_nhs_and_keep_their_own_router_id():
    plans = _plans("cluster")
    assert len(plans["spoke1"].nhrp.nhs) == 1
    hub1, hub2 = plans["hub1"], plans["hub2"]
    assert hub1.stand_in.router_id != hub2.stand_in.router_id
    assert [u.priority for u in hub1.cluster.units] == [200, 150]


def test_a_cluster_is_one_device_whose_bridges_carry_unit_ports_addresses_and_a_vrrp_each():
    """As the real ESR 1.34.4 and WLC clusters: unit 2's ports are 2/0/N, per-unit addresses sit on bridges (the
    sync bridge's too), each bridge has its own VRRP address, and BGP with the HQ core leaves from a VRRP address."""
    plans = _plans("cluster")
    hub1, hub2 = plans["hub1"], plans["hub2"]
    cluster = hub1.cluster
    assert hub1.device == hub2.device == cluster.name == "hub1+hub2" and plans["spoke1"].device == "spoke1"
    assert hub1.cluster == hub2.cluster and hub1.bgp.sessions == hub2.bgp.sessions
    bridges = cluster.bridges
    assert len({b.number for b in bridges}) == len({b.vrrp_id for b in bridges}) == 3
    assert [[m.port for m in b.members] for b in bridges] == [["te1/0/3", "te2/0/3"], ["te1/0/1", "te2/0/1"],
                                                               ["te1/0/2", "te2/0/2"]]
    for bridge in bridges:
        addresses = [m.address for m in bridge.members]
        assert len({*addresses, bridge.vip}) == 3 and all(a.network == bridge.vip.network for a in addresses)
    assert cluster.sync.zone is None and cluster.wan.vip.ip == hub1.nbma
    assert [s.update_source for s in hub1.bgp.sessions] == [cluster.lan.vip.ip]  # the HQ core, from the VIP


def test_hub_sessions_carry_their_options():
    hub = _plans("phase1")["hub1"]
    group = hub.bgp.spoke_group
    assert group.route_reflector_client and group.next_hop_self and group.update_source == hub.tunnel.ip
    assert hub.bgp.sessions == ()  # no spoke is listed: the listen range takes them all
    assert not _plans("phase2")["hub1"].bgp.spoke_group.next_hop_self  # next hops stay the remote spokes
    mpls = _plans("mpls")
    assert mpls["hub1"].mpls_forwarding and all(s.vpnv4 for s in mpls["spoke1"].bgp.sessions)
    assert {v.rd for v in mpls["spoke1"].vrfs} == {f"{mpls['spoke1'].tunnel.ip}:{v.id}" for v in mpls["spoke1"].vrfs}
    assert all(v.aggregate for v in mpls["hub1"].vrfs) and not any(v.aggregate for v in mpls["spoke1"].vrfs)
    assert mpls["hub1"].bgp.spoke_group.listen_range.network_address == IPv4Address("10.255.0.0")
    assert mpls["hub1"].bgp.spoke_group.vpnv4 and mpls["spoke1"].bgp.spoke_group is None


def test_a_neighbour_probe_that_could_probe_idle_neighbours_forever_is_refused():
    """A reachable time the kernel may draw below the first probe's delay (1000 ms drawn from 500-1500 ms, against
    1 s) kept idle tunnel neighbours probed and their shortcuts renewed forever: about half the dual-hub CI labs."""
    from labkit.platforms.frr_strongswan.standin import SHORTCUT_NEIGHBOUR_PROBE, NeighbourProbe

    with pytest.raises(ValueError, match="probed forever"):
        NeighbourProbe(reachable_ms=1000, first_probe_delay_s=1)
    plans = plan_design(load_design(TOPOLOGIES / "failover.yml"))
    assert plans["spoke1"].stand_in.neighbour_probe == SHORTCUT_NEIGHBOUR_PROBE
    assert SHORTCUT_NEIGHBOUR_PROBE.reachable_ms // 2 > SHORTCUT_NEIGHBOUR_PROBE.first_probe_delay_s * 1000
