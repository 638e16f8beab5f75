"""The design model: derived addressing, and one clear line per problem for bad designs."""

from __future__ import annotations

import re
import subprocess
import sys
from ipaddress import IPv4Address, IPv4Interface

import pytest

from labkit.design import load_design
from labkit.design.catalog import esr_models
from labkit.design.model import Failover
from labkit.errors import DesignError
from tests.conftest import ROOT, TOPOLOGIES

PHASE3 = (TOPOLOGIES / "phase3.yml").read_text()


def problems_of(write_design, text: str) -> list[str]:
    with pytest.raises(DesignError) as info:
        load_design(write_design(text))
    return info.value.problems


def _line_of(text: str, fragment: str) -> int:
    """The line of the design text `fragment` starts on."""
    return text[:text.index(fragment)].count("\n") + 1


def test_phase3_derives_addressing():
    design = load_design(TOPOLOGIES / "phase3.yml")
    assert [s.name for s in design.hubs] == ["hub1"]
    assert [s.name for s in design.spokes] == ["spoke1", "spoke2", "spoke3"]
    assert [s.model.name for s in design.spokes] == ["ESR-15", "ESR-30", "ESR-31"]
    spoke2 = design.site("spoke2")
    assert spoke2.tunnel == IPv4Address("10.255.0.12")
    assert spoke2.lan == IPv4Interface("172.16.2.1/24")
    assert spoke2.wan == IPv4Interface("198.51.100.10/30")
    assert spoke2.wan_gateway == IPv4Address("198.51.100.9")
    assert design.site("hub1").wan == IPv4Interface("198.51.100.2/30")
    assert design.routing.hub_advertises == "summary"
    assert len({s.tunnel for s in design.sites}) == len(design.sites)


def test_many_spokes_are_derived_deterministically(write_design):
    text = PHASE3.replace("count: 3", "count: 40").replace("wan_pool: 198.51.100.0/24", "wan_pool: 100.64.0.0/20")
    first, second = load_design(write_design(text, "a.yml")), load_design(write_design(text, "b.yml"))
    assert [(s.name, s.tunnel, s.lan, s.wan) for s in first.spokes] == \
        [(s.name, s.tunnel, s.lan, s.wan) for s in second.spokes]
    assert first.spokes[-1].name == "spoke40"
    assert first.spokes[-1].model.name == "ESR-15"  # models cycle: 40 = 3*13 + 1


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("phase: 3", "phase: 4"), r"design\.yml:\d+: phase: unknown value 4; use one of: 1, 2, 3"),
        (("model: ESR-3250", "model: ESR-9999"), r":\d+: hubs\[0\]\.model: unknown ESR model 'ESR-9999'"),
        (("model: ESR-3250", "model: ESR-15"), r"hubs\[0\]\.model: ESR-15 is not a hub model"),
        (("models: [ESR-15, ESR-30, ESR-31]", "models: [ESR-15, ESR-3350]"), r"spokes\.models: 'ESR-3350' is not"),
        (("lan: 10.0.0.1/24", "lan: 172.16.9.1/24"), r"hubs: hub1\.lan: 172\.16\.9\.0/24 overlaps spokes\.lan_pool"),
        (("tunnel_network: 10.255.0.0/24", "tunnel_network: 10.255.0.0/33"),
         r"overlay\.tunnel_network: .* not an IPv4"),
        (("gre_key: 42", "gre_key: -1"), r"overlay\.gre_key: must be from 1 to"),
        (("holdtime: 30  ", "holtime: 30  "), r"overlay\.holtime: unknown field; did you mean 'holdtime'\?"),
        (("count: 3", "count: 70"),
         r":11: underlay\.wan_pool: 198\.51\.100\.0/24 has room for 63 spokes "
         r"\(a /30 link per site, hubs first\), 70 needed; use a /23 or larger, e\.g\. 198\.51\.100\.0/23"),
        (("psk: lab-only-dmvpn-psk-42", "psk: short"), r"ipsec\.psk: must be a text of at least 8"),
        (("lab: dmvpn-phase3", "lab: DMVPN Phase3"), r"lab: 'DMVPN Phase3' is not allowed"),
        (("count: 3", "count: 1"), r"spokes: phase 3 needs at least 2 spokes"),
        (("hub_advertises: summary", "hub_advertises: everything"), r"routing\.hub_advertises: unknown value"),
        (("wan_pool: 198.51.100.0/24", "wan_pool: 198.51.100.1/24"), r":11: underlay\.wan_pool: .* host bits set"),
        (("lan_pool: 172.16.0.0/16", "lan_pool: 172.16.0/16"), r":44: spokes\.lan_pool: .* not an IPv4 network"),
        (("\nunderlay:", "\nunderlai:"), r":9: underlai: unknown field; did you mean 'underlay' \(required\)\?"),
        (("\nspokes:", "\nspokess:"), r":41: spokess: unknown field; did you mean 'spokes' \(required\)\?"),
        (("\nrouting:", "\nrouting: []\nold_routing:"), r":29: routing: must be a mapping of fields, found a list"),
        (("\nipsec:", "\nipsec: aes\nold_ipsec:"), r":21: ipsec: must be a mapping of fields, found 'aes'"),
        (("\nhubs:", "\nhubs: {}\nold_hubs:"), r":36: hubs: must be a list, found a mapping"),
        (("\n  ike_proposal:", "\n  ike_propsal:"), r":23: ipsec\.ike_propsal: unknown field; did you mean 'ike_pro"),
        (("    lan: 10.0.0.1/24", "    lam: 10.0.0.1/24"), r":39: hubs\[0\]\.lam: unknown field; did you mean 'lan'"),
        (("count: 3", "count: [3]"), r":42: spokes\.count: must be a whole number"),
        (("lan_pool: 172.16.0.0/16", "lan_pool: [172.16.0.0/16]"),
         r":44: spokes\.lan_pool: must be an IPv4 network like 10\.255\.0\.0/24, found a list$"),
        (("    lan: 10.0.0.1/24", "    lan: {ip: 10.0.0.1}"),
         r":39: hubs\[0\]\.lan: must be an IPv4 address with prefix"),
        (("count: 3", "count: 3\n  lan_prefixlen: 12"), r":43: spokes\.lan_prefixlen: must be longer than .*/16"),
    ],
)
def test_bad_design_names_file_line_field_and_fix(write_design, change, expected):
    """Each wrong value is exactly one problem: nothing about the fields that are fine."""
    old, new = change
    assert old in PHASE3, f"test setup: {old!r} not in phase3.yml"
    text = PHASE3.replace(old, new, 1)
    problems = [p for p in problems_of(write_design, text) if not re.search(r": old_\w+: unknown field", p)]
    assert len(problems) == 1 and re.search(expected, problems[0]), problems
    assert all(p.startswith(str(write_design("", "unused.yml").parent)) for p in problems)


def test_tunnel_address_outside_overlay(write_design):
    text = PHASE3.replace("    lan: 10.0.0.1/24", "    lan: 10.0.0.1/24\n    tunnel: 10.254.0.1")
    assert any("hubs[0].tunnel: 10.254.0.1 is outside the overlay 10.255.0.0/24" in p
               for p in problems_of(write_design, text))


def test_duplicate_tunnel_address(write_design):
    text = PHASE3.replace("spokes:\n  count: 3\n  models: [ESR-15, ESR-30, ESR-31]",
                          "spokes:\n  nodes:\n    - {name: spoke1, model: ESR-15, tunnel: 10.255.0.1}\n"
                          "    - {name: spoke2, model: ESR-30}")
    assert any(f".yml:{_line_of(text, '{name: spoke1')}: spoke1.tunnel: duplicate tunnel address 10.255.0.1 (also "
               "hub1); give each its own" in p for p in problems_of(write_design, text))


def test_duplicate_node_name(write_design):
    text = PHASE3.replace("spokes:\n  count: 3\n  models: [ESR-15, ESR-30, ESR-31]",
                          "spokes:\n  nodes:\n    - {name: hub1, model: ESR-15}\n    - {name: spoke2, model: ESR-30}")
    assert any("duplicate node name" in p for p in problems_of(write_design, text))


def test_no_hub(write_design):
    text = re.sub(r"hubs:\n(  .*\n)+", "hubs: []\n", PHASE3)
    assert any(re.search(r":\d+: hubs: needs at least one hub", p) for p in problems_of(write_design, text))


def test_bad_yaml_reports_its_line(write_design):
    text = PHASE3.replace("  gre_key: 42", "  gre_key: [42")
    problems = problems_of(write_design, text)
    assert len(problems) == 1
    assert re.search(r"design\.yml:\d+: invalid YAML", problems[0])


def test_every_problem_is_reported_at_once(write_design):
    text = PHASE3.replace("phase: 3", "phase: 7").replace("gre_key: 42", "gre_key: 0")
    assert len(problems_of(write_design, text)) >= 2


def test_cli_prints_clear_error_without_traceback(write_design):
    path = write_design(PHASE3.replace("model: ESR-3250", "model: ESR-1"))
    done = subprocess.run([sys.executable, "-m", "labkit", "generate", str(path)], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert re.search(r"error: .*design\.yml:\d+: hubs\[0\]\.model: unknown ESR model 'ESR-1'", done.stderr)


FAILOVER = (TOPOLOGIES / "failover.yml").read_text()


def test_failover_design_has_hq_bfd_and_peerings():
    design = load_design(TOPOLOGIES / "failover.yml")
    assert design.headquarters.name == "hq" and design.hq_lan == IPv4Interface("10.1.0.1/24")
    assert design.routing.bfd.detect_ms == 900 and design.failover.loss_budget_ms == 1500
    assert design.node_names == ("inet", "hub1", "hub2", "spoke1", "spoke2", "spoke3", "hq")
    assert design.bgp_neighbors("spoke1") == (("hub1", IPv4Address("10.255.0.1")), ("hub2", IPv4Address("10.255.0.2")))
    assert design.bgp_neighbors("hq") == (("hub1", IPv4Address("10.0.0.1")), ("hub2", IPv4Address("10.0.0.2")))
    hub1 = dict(design.bgp_neighbors("hub1"))
    assert hub1 == {"spoke1": IPv4Address("10.255.0.11"), "spoke2": IPv4Address("10.255.0.12"),
                    "spoke3": IPv4Address("10.255.0.13"), "hub2": IPv4Address("10.0.0.2"),
                    "hq": IPv4Address("10.0.0.10")}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ((r"headquarters:\n(  .*\n)+", ""), r"headquarters: 2 hubs need a 'headquarters' core router"),
        ((r"\{name: hub2, model: ESR-3350, lan: 10.0.0.2/24\}", "{name: hub2, model: ESR-3350, lan: 10.9.0.2/24}"),
         r"hubs: hub2\.lan: 10\.9\.0\.2/24 is not on the HQ segment 10\.0\.0\.0/24"),
        ((r"lan: 10.0.0.2/24", "lan: 10.0.0.10/24"), r"hubs: hub2\.lan: 10\.0\.0\.10 is already used by headquarters"),
        ((r"  - \{name: hub2.*\n", ""), r"failover: hub failover needs at least 2 hubs"),
        ((r"multiplier: 3", "multiplier: 1"), r"routing\.bfd\.multiplier: must be from 2 to 255"),
        ((r"lan: 10.1.0.1/24 ", "lan: 172.16.5.1/24 "), r"headquarters\.lan: 172\.16\.5\.0/24 overlaps"),
    ],
)
def test_bad_failover_design(write_design, change, expected):
    pattern, new = change
    text = re.sub(pattern, new, FAILOVER, count=1)
    assert text != FAILOVER, f"test setup: {pattern!r} not in failover.yml"
    problems = problems_of(write_design, text)
    assert any(re.search(expected, p) for p in problems), problems


def test_cluster_units_share_tunnel_and_nbma_address():
    design = load_design(TOPOLOGIES / "cluster.yml")
    hub1, hub2 = design.hubs
    assert (hub1.tunnel, hub1.nbma) == (hub2.tunnel, hub2.nbma) == (IPv4Address("10.255.0.1"),
                                                                      IPv4Address("198.51.100.2"))
    assert (hub1.wan, hub2.wan) == (IPv4Interface("198.51.100.3/29"), IPv4Interface("198.51.100.4/29"))
    assert design.spokes[0].wan == IPv4Interface("198.51.100.10/30")  # spokes start after the /29
    assert design.nhs == (hub1,)
    assert design.bgp_neighbors("spoke1") == (("hub1", IPv4Address("10.255.0.1")),)
    assert "hub2" not in dict(design.bgp_neighbors("hub1"))  # units do not peer with each other


def test_cluster_needs_two_units(write_design):
    text = (TOPOLOGIES / "cluster.yml").read_text().replace("  - {name: hub2, model: ESR-3350, lan: 10.0.0.2/24}\n", "")
    assert any("cluster: an Active/Standby cluster has exactly 2 hub units, found 1" in p
               for p in problems_of(write_design, text))


def test_every_hub_model_names_its_cluster_sync_port():
    assert all(m.sync_port for m in esr_models().values() if "hub" in m.roles)


def test_cluster_lan_vip_and_sync_network_default_and_are_checked(write_design):
    cluster = load_design(TOPOLOGIES / "cluster.yml").cluster
    assert (cluster.lan_vip, str(cluster.sync_network)) == (IPv4Address("10.0.0.254"), "10.254.255.248/29")
    text = (TOPOLOGIES / "cluster.yml").read_text()
    for settings, expected in [("lan_vip: 10.0.0.10", "cluster.lan_vip: 10.0.0.10 is already used by headquarters"),
                               ("lan_vip: 10.9.0.1", "cluster.lan_vip: 10.9.0.1 is not a host of the hubs' HQ segment"),
                               ("sync_network: 10.254.0.0/30", "cluster.sync_network: 10.254.0.0/30 has no room"),
                               ("sync_network: 10.1.0.0/29", "cluster.sync_network: 10.1.0.0/29 overlaps "
                                                             "headquarters.lan")]:
        changed = text.replace("  vrrp_id: 20\n", f"  vrrp_id: 20\n  {settings}\n")
        assert any(expected in p for p in problems_of(write_design, changed)), (settings, expected)


MPLS = (TOPOLOGIES / "mpls.yml").read_text()


def test_mpls_design_derives_each_site_lan_in_each_vrf():
    design = load_design(TOPOLOGIES / "mpls.yml")
    assert [v.name for v in design.mpls.vrfs] == ["CORP", "ATM"]
    lans = {(v.name, str(lan)) for v, lan in design.vrf_lans("spoke2")}
    assert lans == {("CORP", "10.11.2.1/24"), ("ATM", "10.21.2.1/24")}
    assert {(v.name, str(lan)) for v, lan in design.vrf_lans("hub1")} == {("CORP", "10.10.0.1/24"),
                                                                        ("ATM", "10.20.0.1/24")}
    assert load_design(TOPOLOGIES / "phase3.yml").vrf_lans("spoke1") == ()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("name: ATM, id: 20", "name: ATM, id: 10"), r"mpls\.vrfs\.id: 10 is used by more than one VRF"),
        (("name: ATM, id: 20", "name: CORP, id: 20"), r"mpls\.vrfs\.name: CORP is used by more than one VRF"),
        (("lan_pool: 10.21.0.0/16", "lan_pool: 10.21.0.0/23"), r"ATM\.lan_pool: 10\.21\.0\.0/23 has room for 1 spoke"),
        (("lan_pool: 10.21.0.0/16", "lan_pool: 172.16.0.0/16"), r"ATM\.lan_pool: 172\.16\.0\.0/16 overlaps"),
        (("id: 20,", "id: 254,"), r"mpls\.vrfs\[1\]\.id: must be from 1 to 252"),
        (("lan_prefixlen: 24 ", "label_distribution: ldp\n  lan_prefixlen: 24 "), r"mpls\.label_distribution: unknown"),
        (("hubs:\n  - {name: hub1, model: ESR-3250, lan: 10.0.0.1/24}\n",
          "hubs:\n  - {name: hub1, model: ESR-3250, lan: 10.0.0.1/24}\n  - {name: hub2, model: ESR-3250, "
          "lan: 10.0.0.2/24}\nheadquarters: {name: hq, address: 10.0.0.10/24, lan: 10.1.0.1/24}\n"),
         r"mpls: MPLS over DMVPN relays spoke-to-spoke VPN traffic through one hub; found 2 hubs"),
    ],
)
def test_bad_mpls_design(write_design, change, expected):
    old, new = change
    assert old in MPLS, f"test setup: {old!r} not in mpls.yml"
    problems = problems_of(write_design, MPLS.replace(old, new, 1))
    assert any(re.search(expected, p) for p in problems), problems


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "is empty; a design needs lab"),
        (b"\n  \n", "is empty"),
        ("lab: x\n".encode("utf-16"), "is UTF-16 or UTF-32 text; save it as UTF-8"),
        ("lab: \u0431\u0430\u043d\u043a\n".encode("cp1251"), "is not UTF-8 text (byte 0xe1 at offset 5); save it"),
        (bytes(range(256)) * 4, "contains NUL bytes: a binary file or UTF-16 text"),
        (b"a: " + b"x" * (5 * 1024 * 1024), "is 5,242,883 bytes, more than a design file can be"),
        (b"[" * 5000 + b"]" * 5000, "invalid YAML: nested too deeply"),
        (b"- a\n", "must be a mapping of fields, found a list"),
    ],
)
def test_any_bytes_give_one_clear_line(tmp_path, content, reason):
    path = tmp_path / "design.yml"
    path.write_bytes(content)
    with pytest.raises(DesignError) as info:
        load_design(path)
    problems = info.value.problems
    assert len(problems) == 1 and problems[0].startswith(f"{path}: {reason}"), problems


def test_a_directory_is_one_clear_line(tmp_path):
    with pytest.raises(DesignError) as info:
        load_design(tmp_path)
    assert info.value.problems == [f"{tmp_path}: is a directory, not a design file"]


def test_utf8_with_byte_order_mark_is_read(write_design):
    path = write_design(PHASE3)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_design(path).lab == "dmvpn-phase3"


def test_cli_exits_2_on_binary_file(tmp_path):
    path = tmp_path / "design.yml"
    path.write_bytes("lab: x\n".encode("utf-16"))
    done = subprocess.run([sys.executable, "-m", "labkit", "generate", str(path)], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    assert (done.returncode, done.stderr) == (2, f"error: {path}: is UTF-16 or UTF-32 text; save it as UTF-8\n")


def _without_pools(count: int) -> str:
    kept = [line for line in PHASE3.splitlines(keepends=True)
            if not re.match(r"\s+(wan_pool|tunnel_network|lan_pool):", line)]
    return "".join(kept).replace("count: 3", f"count: {count}")


@pytest.mark.parametrize("count", [3, 100, 1000, 4095])
def test_default_pools_serve_thousands_of_spokes(write_design, count):
    design = load_design(write_design(_without_pools(count)))
    assert tuple(str(n) for n in (design.transport.wan_pool, design.overlay.tunnel_network,
                                  design.routing.spoke_summary)) == ("100.64.0.0/10", "10.255.0.0/16", "172.16.0.0/12")
    last = design.spokes[-1]
    assert last.name == f"spoke{count}" and last.tunnel == design.overlay.tunnel_network[10 + count]
    assert len({s.wan for s in design.sites}) == len({s.lan for s in design.sites}) == len(design.sites)


def test_adding_a_spoke_keeps_the_default_pools(write_design):
    """A pool sized from the count would change every device's tunnel mask as the lab grows."""
    before = load_design(write_design(_without_pools(244), "a.yml"))
    after = load_design(write_design(_without_pools(245), "b.yml"))
    assert before.spokes == after.spokes[:-1] and before.hubs == after.hubs
    assert (before.transport, before.overlay, before.routing) == (after.transport, after.overlay, after.routing)


def test_past_the_default_pools_says_what_to_set(write_design):
    assert problems_of(write_design, _without_pools(5000)) == [
        f"{write_design('', 'design.yml')}:40: spokes.count: 5000 spokes do not fit the default spokes.lan_pool "
        "172.16.0.0/12 (room for 4095: spoke N gets the Nth /24); set spokes.lan_pool to a /11 or larger network"]


def test_tunnel_network_limit_names_the_host_rule(write_design):
    text = PHASE3.replace("count: 3", "count: 245").replace("wan_pool: 198.51.100.0/24", "wan_pool: 100.64.0.0/20")
    text = text.replace("lan_pool: 172.16.0.0/16", "lan_pool: 172.16.0.0/15")
    assert [p.split(": ", 1)[1] for p in problems_of(write_design, text)] == [
        "overlay.tunnel_network: 10.255.0.0/24 has room for 244 spokes (spoke N is host 10+N), 245 needed; "
        "use a /23 or larger, e.g. 10.255.0.0/23"]
    assert load_design(write_design(text.replace("count: 245", "count: 244"))).spokes[-1].tunnel == \
        IPv4Address("10.255.0.254")


def test_tenth_hub_needs_its_tunnel_address(write_design):
    hubs = "".join(f"  - {{name: hub{n}, model: ESR-3250, lan: 10.0.0.{n}/24}}\n" for n in range(1, 11))
    text = re.sub(r"hubs:\n(  .*\n)+", f"hubs:\n{hubs}", PHASE3)
    text = text.replace("\nhubs:", "\nheadquarters: {address: 10.0.0.254/24, lan: 10.10.0.1/24}\nhubs:")
    problems = problems_of(write_design, text)
    assert len(problems) == 1 and re.search(r":\d+: hubs\[9\]\.tunnel: is required past 9 hubs: derived hub "
                                            r"tunnel addresses are hosts 1-9, spoke N is host 10\+N", problems[0])


def test_overlapping_spoke_lans_at_each_spoke_s_line(write_design):
    text = PHASE3.replace("spokes:\n  count: 3\n  models: [ESR-15, ESR-30, ESR-31]",
                          "spokes:\n  nodes:\n    - {name: spoke1, model: ESR-15, lan: 172.16.0.1/20}\n"
                          "    - {name: spoke2, model: ESR-30}\n"
                          "    - {name: spoke3, model: ESR-30, lan: 172.16.9.1/24}")
    assert [p.split(".yml:", 1)[1] for p in problems_of(write_design, text)] == [
        f"{_line_of(text, '{name: spoke2')}: spokes: spoke2.lan: 172.16.2.0/24 overlaps the LAN of spoke1 "
        "(172.16.0.0/20); give each spoke a LAN of its own",
        f"{_line_of(text, '{name: spoke3')}: spokes: spoke3.lan: 172.16.9.0/24 overlaps the LAN of spoke1 "
        "(172.16.0.0/20); give each spoke a LAN of its own"]


def test_each_spoke_lan_outside_the_pool_is_reported_at_its_spoke_with_the_fix(write_design):
    nodes = "".join(f"    - {{name: branch{n}, model: ESR-30, lan: 10.{n}.0.1/24}}\n" for n in range(1, 13))
    text = PHASE3.replace("spokes:\n  count: 3\n  models: [ESR-15, ESR-30, ESR-31]\n", f"spokes:\n  nodes:\n{nodes}")
    problems = problems_of(write_design, text)
    assert len(problems) == 12
    for n, problem in enumerate(problems, start=1):
        assert f".yml:{_line_of(text, f'{{name: branch{n},')}: spokes: branch{n}.lan: 10.{n}.0.0/24 is outside " \
               f"spokes.lan_pool 172.16.0.0/16" in problem
        assert problem.endswith(f"give branch{n} a LAN inside 172.16.0.0/16, or widen spokes.lan_pool to hold every "
                                "spoke's LAN")


def test_spokes_written_as_a_list_gets_the_fix(write_design):
    text = PHASE3.replace("spokes:\n  count: 3\n  models: [ESR-15, ESR-30, ESR-31]\n  lan_pool: 172.16.0.0/16",
                          "spokes:\n  - {name: spoke1, model: ESR-30}\n  - {name: spoke2, model: ESR-30}\n#")
    [problem] = problems_of(write_design, text)
    assert f".yml:{_line_of(text, 'spokes:')}: spokes: must be a mapping of fields, found a list; unlike `hubs:`, " \
           "list the spokes under `nodes:` (spokes.nodes)" in problem
    assert "`spokes: {lan_pool: 172.16.0.0/16, nodes: [{name: spoke1, model: ESR-30}, ...]}`" in problem


def test_misconfigure_names_misconfigurations_of_the_library(write_design):
    design = load_design(write_design(PHASE3 + "misconfigure: [wrong_psk, gre_key_mismatch]\n"))
    assert [(m.fault, m.ipsec_left) for m in design.misconfigure] == [("wrong_psk", "refused"),
                                                                      ("gre_key_mismatch", "up")]
    [problem] = problems_of(write_design, PHASE3 + "misconfigure: [wrong_key]\n")
    assert "misconfigure: unknown misconfiguration wrong_key; known: wrong_psk, " in problem
    [problem] = problems_of(write_design, PHASE3 + "misconfigure: wrong_psk\n")
    assert "must be a list of misconfigurations" in problem


def test_cases_name_edge_cases_of_the_catalogue_and_fit_the_design(write_design):
    design = load_design(write_design(PHASE3 + "cases: [mtu, underlay_blocked]\n"))
    assert [(c.name, c.budget) for c in design.cases] == [("mtu", None), ("underlay_blocked", Failover(1000, 20))]
    [problem] = problems_of(write_design, PHASE3 + "cases: [mtu, jumbo]\n")
    assert "cases: unknown case jumbo; known: mtu, pmtud, underlay_blocked, rekey" in problem
    [problem] = problems_of(write_design, PHASE3 + "cases: [rekey]\n")
    assert "cases: rekey needs ipsec.sa_lifetime set in the design" in problem
    [problem] = problems_of(write_design, PHASE3 + "cases: [mtu, mtu]\n")
    assert "cases: lists a case twice" in problem
    one_spoke = PHASE3.replace("phase: 3", "phase: 1").replace("count: 3", "count: 1")
    problems = problems_of(write_design, one_spoke + "cases: [mtu, underlay_blocked]\n")
    assert any("mtu needs at least 2 spokes (1 in the design); set spokes.count to 2 or more" in p for p in problems)
    assert any("underlay_blocked means something only in phase 2 or 3, not in phase 1; remove it" in p
               for p in problems)


MOVABLE = PHASE3.replace("keepalive: 3", "keepalive: 8").replace("holdtime: 9", "holdtime: 24")


def test_a_wan_address_change_takes_the_pools_last_link_which_no_site_may_hold(write_design):
    design = load_design(write_design(MOVABLE + "cases: [wan_address_change]\n"))
    link = design.spare_wan_link()
    assert (str(link.address), str(link.gateway)) == ("198.51.100.254/30", "198.51.100.253/30")
    assert all(not link.address.network.overlaps(site.wan.network) for site in design.sites)
    full = MOVABLE.replace("198.51.100.0/24", "198.51.100.0/28")  # four /30s, one per site: none spare
    assert str(load_design(write_design(full)).sites[-1].wan.network) == "198.51.100.12/30"
    [problem] = problems_of(write_design, full + "cases: [wan_address_change]\n")
    assert ("underlay.wan_pool: wan_address_change gives a spoke the pool's last /30 (198.51.100.12/30) as its new "
            "lease, but a site holds it; use a /27 or larger") in problem


def test_a_wan_address_change_needs_bgp_sessions_that_outlast_its_loss_budget(write_design):
    """The move may take the case's 14 s budget: a session must outlive that, or the move ends it."""
    [problem] = problems_of(write_design, PHASE3 + "cases: [wan_address_change]\n")
    assert ("routing.holdtime: wan_address_change lets a spoke go 14 s without traffic (its loss budget), but a BGP "
            "session with keepalive 3 s and holdtime 9 s may end after 6 s: the move would end the spoke's sessions; "
            "set routing.keepalive to 8 and routing.holdtime to 24 or more") in problem
    assert load_design(write_design(MOVABLE + "cases: [wan_address_change]\n")).routing.holdtime == 24
    with_bfd = MOVABLE.replace("  hub_advertises: summary", "  hub_advertises: summary\n  bfd: {interval_ms: 300, "
                               "multiplier: 3}")
    [problem] = problems_of(write_design, with_bfd + "cases: [wan_address_change]\n")
    assert "routing.bfd: wan_address_change lets a spoke go 14 s without traffic" in problem
    assert "BFD declares a peer down after 900 ms" in problem


# -- spokes behind their own PAT (`nat:`) -------------------------------------------------------------------

NAT = (TOPOLOGIES / "nat.yml").read_text()


def test_a_spoke_behind_a_pat_gets_an_inside_link_and_keeps_its_wan_address_as_the_outside_one():
    design = load_design(TOPOLOGIES / "nat.yml")
    assert design.nat.spokes == ("spoke1", "spoke3") and str(design.nat.inside_pool) == "192.168.0.0/16"
    spoke1, spoke2, spoke3 = design.spokes
    assert (str(spoke1.inside.address), str(spoke1.inside.gateway)) == ("192.168.0.6/30", "192.168.0.5/30")
    assert str(spoke3.inside.address) == "192.168.0.14/30"  # spoke N: the Nth /30, whatever the list's order
    assert spoke1.nbma == IPv4Address("198.51.100.6") and spoke2.inside is None
    assert design.natted_spokes == (spoke1, spoke3)
    assert not design.direct_possible(spoke1, spoke3) and design.direct_possible(spoke1, spoke2)
    moved = load_design(TOPOLOGIES / "nat.yml", ("nat.inside_pool=10.99.0.0/24",))
    assert str(moved.spokes[2].inside.address) == "10.99.0.14/30"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("spokes: [spoke1, spoke3]", "spokes: [hub1, spoke3]"),
         r":52: nat\.spokes: hub1 is a hub; only spokes sit behind a PAT here .*; remove it$"),
        (("spokes: [spoke1, spoke3]", "spokes: [spoke1, spoke9]"),
         r":52: nat\.spokes: no spoke is named 'spoke9'; the spokes are spoke1, spoke2, spoke3$"),
        (("spokes: [spoke1, spoke3]", "spokes: [spoke1, spoke1]"), r":52: nat\.spokes: lists a spoke twice$"),
        (("spokes: [spoke1, spoke3]", "spokes: spoke1"), r":52: nat\.spokes: must be a list of spoke names, e\.g\."),
        (("spokes: [spoke1, spoke3]", "spokes: [spoke1, spoke2, spoke3]"),
         r":51: nat\.spokes: every spoke is behind a PAT, but phase 3 is about spoke-to-spoke tunnels .*; leave a "
         r"spoke public$"),
        (("spokes: [spoke1, spoke3]", "spokes: [spoke1, spoke3]\n  inside_pool: 172.16.8.0/24"),
         r":51: nat\.inside_pool: 172\.16\.8\.0/24 overlaps spokes\.lan_pool 172\.16\.0\.0/16; every network must "
         r"be distinct$"),
        (("spokes: [spoke1, spoke3]", "spokes: [spoke1, spoke3]\n  inside_pool: 192.168.0.0/29"),
         r":53: nat\.inside_pool: 192\.168\.0\.0/29 has room for 1 spokes \(spoke N's link to its PAT is the Nth "
         r"/30\), 3 needed; use a /28 or larger, e\.g\. 192\.168\.0\.0/28$"),
        (("spokes: [spoke1, spoke3]", "spokes: [spoke1, spoke3]\n  pool: 192.168.0.0/16"),
         r":53: nat\.pool: unknown field; known fields: inside_pool, spokes$"),
        (("nat:\n  spokes: [spoke1, spoke3]", "nat: [spoke1, spoke3]"), r":51: nat: must be a mapping of fields"),
        (("cases: [pat_to_pat]", "cases: [pat_to_pat, mtu]"),
         r":54: cases: mtu uses the first 2 spokes and is proven with public WAN addresses only, but spoke1 is "
         r"behind a PAT \(nat\.spokes\); put the spokes behind PATs after the first 2, or drop mtu$"),
        (("spokes: [spoke1, spoke3]", "spokes: [spoke3]"),
         r":54: cases: pat_to_pat needs 2 spokes behind their own PATs \(1 in the design\); list them under "
         r"nat\.spokes$"),
    ],
)
def test_bad_nat_section_names_file_line_field_and_fix(write_design, change, expected):
    old, new = change
    assert old in NAT, f"test setup: {old!r} not in nat.yml"
    problems = problems_of(write_design, NAT.replace(old, new, 1))
    assert len(problems) == 1 and re.search(expected, problems[0]), problems


def test_spokes_behind_pats_go_with_one_hub(write_design):
    failover = (TOPOLOGIES / "failover.yml").read_text()
    [problem] = problems_of(write_design, failover + "\nnat:\n  spokes: [spoke3]\n")
    assert re.search(r":\d+: nat: spokes behind PATs need a design with one hub, found 2: .*; use one hub$", problem)


def test_a_phase_1_cloud_may_put_every_spoke_behind_a_pat(write_design):
    text = NAT.replace("phase: 3", "phase: 1").replace("spokes: [spoke1, spoke3]", "spokes: [spoke1, spoke2, spoke3]")
    design = load_design(write_design(text.replace("cases: [pat_to_pat]\n", "")))
    assert len(design.natted_spokes) == 3
