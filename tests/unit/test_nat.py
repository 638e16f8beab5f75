"""Spokes behind their own PAT (topologies/nat.yml): what the node plan decides for them and the transport router,
and what every output makes of it."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from labkit.design import load_design
from labkit.plan import plan_design, transport_plan
from labkit.plan.model import PatPlan
from labkit.render.clab import kernel_modules
from labkit.render.generate import node_files
from labkit.render.provenance import classify
from tests.conftest import TOPOLOGIES

DESIGN = load_design(TOPOLOGIES / "nat.yml")
HUB, (SPOKE1, SPOKE2, SPOKE3) = DESIGN.hubs[0], DESIGN.spokes


# -- the plan ------------------------------------------------------------------------------------------------

def test_a_spoke_behind_a_pat_is_planned_on_its_inside_link_and_seen_at_the_outside_address():
    plans = plan_design(DESIGN)
    spoke1 = plans["spoke1"]
    assert (spoke1.wan, spoke1.wan_gateway, spoke1.nbma, spoke1.pat_outside) == (
        IPv4Interface("192.168.0.6/30"), IPv4Address("192.168.0.5"), IPv4Address("192.168.0.6"),
        IPv4Address("198.51.100.6"))
    assert not spoke1.stand_in.ike_any_local_address  # IKE leaves from the inside address, as ESR's gateway does
    assert any("the PAT in front of this spoke" in r and "198.51.100.6" in r for r in spoke1.stand_in.reasons)
    assert any("pat_to_pat" in r for r in spoke1.stand_in.reasons)
    spoke2 = plans["spoke2"]
    assert (spoke2.wan, spoke2.nbma, spoke2.pat_outside) == (SPOKE2.wan, SPOKE2.nbma, None)
    assert plans["hub1"].pat_outside is None and all(n.nbma == HUB.nbma for n in spoke1.nhrp.nhs)


def test_the_transport_router_stands_in_for_each_pat():
    links = {link.site: link for link in transport_plan(DESIGN).links}
    assert links["spoke1"].address == IPv4Interface("192.168.0.5/30") and links["spoke1"].port == "eth2"
    assert links["spoke1"].pat == PatPlan(IPv4Network("192.168.0.4/30"), IPv4Address("198.51.100.6"), (1024, 65535))
    assert links["spoke2"].pat is None and links["spoke2"].address == IPv4Interface("198.51.100.9/30")
    assert transport_plan(DESIGN).bridge is None


def test_a_cluster_s_bridge_is_in_the_transport_plan():
    plan = transport_plan(load_design(TOPOLOGIES / "cluster.yml"))
    assert (str(plan.bridge.address), plan.bridge.ports, plan.bridge.units) == (
        "198.51.100.1/29", ("eth1", "eth2"), ("hub1", "hub2"))
    assert [link.site for link in plan.links] == ["spoke1", "spoke2", "spoke3"]


# -- what every output makes of it -----------------------------------------------------------------------------

FILES = {path: text for path, (text, _) in node_files(DESIGN).items()}


def test_the_transport_translates_each_inside_link_and_routes_nothing_to_the_outside_address():
    start = FILES["nodes/inet/labkit/start.sh"]
    assert "ip addr add 192.168.0.5/30 dev eth2   # to spoke1" in start
    assert "198.51.100.5" not in start  # nothing answers on spoke1's outside /30: it is only a translation
    for proto in ("udp", "tcp"):
        assert (f"iptables -t nat -A POSTROUTING -s 192.168.0.4/30 -p {proto} -j SNAT --to-source "
                f"198.51.100.6:1024-65535") in start
    assert "iptables -t nat -A POSTROUTING -s 192.168.0.4/30 -j SNAT --to-source 198.51.100.6\n" in start
    assert "ip route add blackhole 198.51.100.6/32" in start and "ip route add blackhole 198.51.100.14/32" in start
    assert "ip addr add 198.51.100.9/30 dev eth3   # to spoke2" in start and "198.51.100.10" not in start
    assert "nf_nat" in kernel_modules(DESIGN)
    assert "nf_nat" not in kernel_modules(load_design(TOPOLOGIES / "phase3.yml"))


def test_a_spoke_behind_a_pat_is_addressed_routed_and_keyed_on_its_inside_link():
    assert "ip addr add 192.168.0.6/30 dev eth1" in FILES["nodes/spoke1/labkit/start.sh"]
    assert "ip route 198.51.100.0/24 192.168.0.5\n" in FILES["nodes/spoke1/frr/frr.conf"]
    assert "local_addrs = 192.168.0.6\n" in FILES["nodes/spoke1/swanctl/swanctl.conf"]
    assert "local_addrs = 198.51.100.10\n" in FILES["nodes/spoke2/swanctl/swanctl.conf"]
    assert "ip nhrp nhs dynamic nbma 198.51.100.2" in FILES["nodes/spoke1/frr/frr.conf"]


def test_the_esr_config_of_a_spoke_behind_a_pat_uses_its_inside_address_and_says_nat_traversal_is_assumed():
    esr = FILES["esr/spoke1.cfg"]
    body = esr[esr.index("hostname spoke1"):]
    assert "  ip address 192.168.0.6/30\n" in body
    assert body.count("  local address 192.168.0.6\n") == 2  # both IKE gateways (to the hub, spoke to spoke)
    assert "  local network 192.168.0.6/32 protocol gre\n" in body
    assert "ip route 198.51.100.0/24 192.168.0.5\n" in body
    assert 'description "WAN (NBMA) to its PAT, outside 198.51.100.6"' in body
    assert "ESR is ASSUMED to detect the PAT" in esr
    assert "unclassified" not in {c.name for c in classify(body)}  # no NAT syntax made up
    assert "Behind a PAT" not in FILES["esr/spoke2.cfg"]
