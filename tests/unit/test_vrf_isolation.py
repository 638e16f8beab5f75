"""VRF isolation, as the MPLS suite judges it: a route lookup from a VRF towards another VRF's or the global
LANs must be refused by the kernel, not merely go unanswered (outputs captured from the MPLS lab)."""

from __future__ import annotations

import pytest

from labkit.verify.collect import platform
from labkit.verify.parse import parse
from labkit.verify.state import RouteLookup, to_models
from tests.conftest import FIXTURES

SPEC = platform("frr-lab").facts["vrf_route_lookup"]


def lookup(fixture: str) -> RouteLookup:
    (found,) = to_models(SPEC.model, parse(SPEC.template, (FIXTURES / "frr" / fixture).read_text()))
    return found


@pytest.mark.parametrize("fixture", ["spoke3_ip_route_get_global_vrf_atm.txt",
                                     "spoke3_ip_route_get_own_global_vrf_atm.txt"])
def test_a_closed_vrf_refuses_the_lookup(fixture: str):
    assert lookup(fixture) == RouteLookup(path=None, refused="No route to host")


def test_a_leaking_vrf_routes_through_the_global_table():
    assert lookup("spoke3_ip_route_get_global_vrf_atm_leaking.txt").path == \
        "via 10.255.0.1 dev gre1 src 10.21.3.1 uid 0"


def test_a_vrf_reaching_the_nodes_own_global_address_is_a_leak():
    assert lookup("spoke3_ip_route_get_own_global_vrf_atm_leaking.txt").path == \
        "local dev lo table local src 172.16.3.1 uid 0"


def test_a_route_inside_the_vrf_is_found_with_its_label():
    found = lookup("spoke3_ip_route_get_hq_vrf_atm.txt")
    assert found.refused is None and "encap mpls  17 via 10.255.0.1 dev gre1 table 20" in found.path
