"""ESR configurations parsed back (TTP) and checked: the committed ones are clean and match their
designs; each seeded mistake is reported with the device, file and line."""

from __future__ import annotations

import shutil
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from labkit.cli import main
from labkit.design import load_design
from labkit.platforms.esr.interfaces import short_name
from labkit.platforms.esr.lint.roundtrip import compare
from labkit.platforms.esr.lint.rules import lint
from labkit.platforms.esr.running_config import load_esr_config
from tests.conftest import FIXTURES, ROOT, TOPOLOGIES

CONFIGS = ROOT / "configs"
REAL_LAYOUT = FIXTURES / "esr" / "real-layout"  # hand-made after real vESR running-configs [V]
SCENARIOS = sorted(p.stem for p in TOPOLOGIES.glob("*.yml"))


def _load(folder: Path):
    return [load_esr_config(f) for f in sorted(folder.glob("*.cfg"))]


def _committed(scenario: str) -> Path:
    """configs/<lab>/ of topologies/<scenario>.yml"""
    return CONFIGS / load_design(TOPOLOGIES / f"{scenario}.yml").lab


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_committed_configs_are_consistent_and_match_the_design(scenario: str):
    configs = _load(_committed(scenario))
    design = load_design(TOPOLOGIES / f"{scenario}.yml")
    assert {n for c in configs for n in c.hostnames} == {s.name for s in design.sites}
    assert [str(f) for f in lint(configs)] == []
    assert [str(f) for f in compare(design, configs)] == []


def _seeded(tmp_path: Path, scenario: str, node: str, old: str, new: str) -> list[str]:
    folder = tmp_path / scenario
    shutil.copytree(_committed(scenario), folder)
    path = folder / f"{node}.cfg"
    text = path.read_text()
    assert old in text, f"seed {old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
    return [str(f) for f in lint(_load(folder))]


SEEDS = [
    ("phase3", "spoke2", "ip nhrp nhs 10.255.0.1", "ip nhrp nhs 10.255.0.9",
     "NHS 10.255.0.9 is no hub's tunnel address"),
    ("phase3", "spoke1", "ip nhrp map 10.255.0.1 198.51.100.2", "ip nhrp map 10.255.0.1 198.51.100.99",
     "maps NHS 10.255.0.1 (hub1) to NBMA 198.51.100.99, but hub1's tunnel leaves from 198.51.100.2"),
    ("phase3", "spoke3", "dh-group 19", "dh-group 14", "IKE proposal aes256/sha2-256/DH 14 differs from hub1's"),
    ("phase3", "spoke1", "ascii-text <DMVPN-PRE-SHARED-KEY>", "ascii-text typo-key-1",
     "IKE pre-shared key differs from hub1's (values not shown)"),
    ("phase3", "spoke3", "  type transport\n", "  type tunnel\n", "IPsec mode tunnel differs from hub1's transport"),
    ("phase3", "spoke2", "ip address 10.255.0.12/24", "ip address 10.254.0.12/24", "is not a host of the overlay"),
    ("phase3", "spoke2", "ip address 10.255.0.12/24", "ip address 10.255.0.11/24",
     "tunnel address 10.255.0.11 is also"),
    ("phase3", "spoke1", "    remote-as 65000", "    remote-as 65001", "remote-as 65001, but hub1 is AS 65000"),
    ("phase3", "hub1", "listen-range 10.255.0.0/24", "listen-range 10.255.0.0/29",
     "neighbour 10.255.0.1 (hub1) has no neighbour statement or listen range for spoke1"),
    ("failover", "hub2", "  peer-group SPOKES\n    description \"every spoke, from any tunnel address\"\n"
     "    remote-as 65000", "  peer-group SPOKES\n    description \"every spoke, from any tunnel address\"\n"
     "    remote-as 65001", "peer-group SPOKES remote-as 65001, but spoke1 (in its listen range) is AS 65000"),
    ("phase1", "spoke1", "  ip nhrp multicast dynamic", "  ip nhrp multicast dynamic\n  ip nhrp shortcut",
     "`ip nhrp shortcut` does not belong on a spoke in phase 1"),
    ("phase3", "hub1", "  ip nhrp redirect\n", "", "a phase 3 hub needs `ip nhrp redirect`"),
    ("phase3", "spoke2", "    network 172.16.2.0/24\n", "", "LAN 172.16.2.0/24 on gi1/0/2 is not advertised in BGP"),
    ("mpls", "spoke3", "route-target import 65000:20", "route-target import 65000:21",
     "vrf ATM exports 65000:20, spoke3 imports 65000:21"),
    ("mpls", "hub1", "  ip firewall disable\n", "  security-zone DMVPN\n",
     "tunnel gre 1 runs MPLS switching (`forwarding interface gre 1`) with its firewall on"),
    ("cluster", "hub1+hub2", "interface te2/0/2\n  description \"LAN 10.0.0.0/24\"\n  mode switchport\n"
     "  switchport access vlan 30\n", "interface te2/0/2\n  ip address 10.0.0.2/24 unit 2\n",
     "interface te2/0/2: per-unit addresses (`ip address A unit N`) belong on a bridge"),
]


@pytest.mark.parametrize(("scenario", "node", "old", "new", "message"), SEEDS, ids=[s[4][:40] for s in SEEDS])
def test_seeded_mistake_is_reported_with_device_and_line(tmp_path: Path, scenario, node, old, new, message):
    findings = _seeded(tmp_path, scenario, node, old, new)
    hits = [f for f in findings if message in f]
    assert hits, f"expected {message!r} among {findings}"
    file_line, device = hits[0].split(": ")[:2]
    path, line = file_line.rsplit(":", 1)
    assert Path(path).parent.name == scenario and int(line) > 1
    assert device in {node, "hub1", "spoke1", "spoke2", "spoke3"}


@pytest.mark.parametrize(("scenario", "node", "old", "new", "message"), [
    ("phase2", "spoke1", "  ip nhrp shortcut\n", "", "ip nhrp shortcut: config has False"),
    ("phase3", "spoke1", "  ip nhrp holding-time 30\n", "  ip nhrp holding-time 300\n",
     "NHRP holding time: config has 300, design"),
    ("phase3", "hub1", "listen-range 10.255.0.0/24", "listen-range 10.255.0.0/25",
     "BGP listen ranges: config has {10.255.0.0/25 route-reflector-client next-hop-self}, design"),
    ("phase3", "spoke1", "    timers holdtime 9\n", "    timers holdtime 30\n",
     "BGP timers (keepalive, holdtime): config has {(3, 30)}, design"),
    ("phase3", "spoke1", "    update-source 10.255.0.11", "    update-source 172.16.1.1",
     "BGP neighbours: config has {10.255.0.1 update-source 172.16.1.1}, design"),
    ("mpls", "spoke1", "    address-family vpnv4 unicast\n", "    address-family ipv4 multicast\n",
     "BGP neighbours: config has {10.255.0.1 update-source 10.255.0.11}, design"),
    ("mpls", "hub1", "    timers keepalive 3\n", "",
     "BGP timers (keepalive, holdtime): config has {(None, 9)}, design"),
    ("mpls", "hub1", "  ip firewall disable\n", "  security-zone DMVPN\n",
     "firewall off on the tunnel: config has False"),
    ("cluster", "hub1+hub2", "    update-source 10.0.0.254", "    update-source 10.0.0.1",
     "BGP neighbours: config has {10.0.0.10 update-source 10.0.0.1}, design"),
    ("cluster", "hub1+hub2", "interface te2/0/3\n", "interface te2/0/9\n",
     "ports in the bridges' VLANs: config has {te1/0/1 in bridge 10, "),
    ("cluster", "hub1+hub2", "  ip address 10.254.255.251/29 unit 2\n", "",
     "cluster bridges (number, VRRP address, unit addresses): config has {bridge 10 "),
])
def test_round_trip_reports_a_config_that_drifted_from_its_design(tmp_path: Path, scenario, node, old, new, message):
    folder = tmp_path / scenario
    shutil.copytree(_committed(scenario), folder)
    path = folder / f"{node}.cfg"
    path.write_text(path.read_text().replace(old, new))
    findings = [str(f) for f in compare(load_design(TOPOLOGIES / f"{scenario}.yml"), _load(folder))]
    assert any(f"{node}.cfg" in f and message in f for f in findings), findings


def test_lint_command_names_device_and_line(tmp_path: Path, capsys):
    _seeded(tmp_path, "phase3", "spoke2", "ip nhrp nhs 10.255.0.1", "ip nhrp nhs 10.255.0.9")
    assert main(["-q", "lint", str(tmp_path / "phase3")]) == 1
    out = capsys.readouterr().out
    line = next(n for n, t in enumerate((tmp_path / "phase3" / "spoke2.cfg").read_text().splitlines(), 1)
                if "ip nhrp nhs 10.255.0.9" in t)
    assert f"spoke2.cfg:{line}: spoke2: NHS 10.255.0.9 is no hub's tunnel address" in out
    assert main(["-q", "lint", str(REAL_LAYOUT)]) == 0


def test_a_differing_key_is_reported_without_showing_it(tmp_path: Path):
    findings = _seeded(tmp_path, "phase3", "spoke1", "ascii-text <DMVPN-PRE-SHARED-KEY>", "ascii-text typo-key-1")
    assert any("pre-shared key differs" in f for f in findings) and "typo-key-1" not in "\n".join(findings)


def _real_layout(tmp_path: Path, edits: dict[str, list[tuple[str, str]]]) -> list[str]:
    """Lint the real-layout set after replacing, per device, each old text by its new one."""
    folder = tmp_path / "real-layout"
    shutil.copytree(REAL_LAYOUT, folder)
    for node, pairs in edits.items():
        path = folder / f"{node}.cfg"
        text = path.read_text()
        for old, new in pairs:
            assert old in text, f"{old!r} not in {path}"
            text = text.replace(old, new, 1)
        path.write_text(text)
    return [str(f) for f in lint(_load(folder))]


def test_real_layout_configs_parse_with_long_names_and_two_bindings():
    hub, spoke1, spoke2 = _load(REAL_LAYOUT)
    assert [c.role for c in (hub, spoke1, spoke2)] == ["hub", "spoke", "spoke"]
    assert spoke1.multicast_dynamic and spoke1.redirect  # real spokes carry both: not a hub for that
    assert set(spoke1.addresses) == {"gi1/0/1", "gi1/0/2"}
    assert spoke1.nbma == IPv4Address("198.51.100.6")  # `local interface gigabitethernet 1/0/1` resolved
    assert [(b.vpn, b.kind) for b in spoke1.bindings] == [("ipsec1", "static"), ("ipsec_spoke", "dynamic")]
    assert {(v.name, v.mode, v.mode_keyword, v.establish) for v in spoke2.ipsec_vpns} == {
        ("ipsec1", "transport", "type", "route"), ("ipsec_spoke", "transport", "type", "route")}
    assert [g.remote_network for g in spoke1.ike_gateways] == ["198.51.100.2/32 protocol gre", "any"]
    assert spoke1.ipsec_mode == "transport" and hub.bindings[0].kind == "dynamic"
    assert lint([hub, spoke1, spoke2]) == []


def test_a_real_spoke_is_compared_with_its_hub(tmp_path: Path):
    """With the role read from `multicast dynamic`, spoke1 was a hub and this mapping went unchecked."""
    findings = _real_layout(tmp_path, {"spoke1": [("ip nhrp map 10.255.0.1 198.51.100.2",
                                                   "ip nhrp map 10.255.0.1 198.51.100.99")]})
    assert any("spoke1: maps NHS 10.255.0.1 (hub) to NBMA 198.51.100.99" in f for f in findings), findings


NO_DYNAMIC = ("  ip nhrp ipsec ipsec_spoke dynamic\n", "")
NO_SHORTCUT = ("  ip nhrp shortcut\n", "")
NO_REDIRECT = ("  ip nhrp redirect\n", "")
RR_CLIENT = ("    address-family ipv4 unicast\n      enable", "    address-family ipv4 unicast\n"
             "      route-reflector-client\n      enable")
NEXT_HOP_SELF = ("      route-reflector-client\n", "      route-reflector-client\n      next-hop-self\n")
SPOKE_TO_SPOKE = [
    ({"spoke1": [NO_DYNAMIC]}, "it has `ip nhrp shortcut`"),
    ({"spoke1": [NO_DYNAMIC, NO_SHORTCUT]}, "hub has `ip nhrp redirect`"),
    ({"spoke1": [NO_DYNAMIC, NO_SHORTCUT], "hub": [NO_REDIRECT]}, None),  # phase 1: all through the hub
    ({"spoke1": [NO_DYNAMIC, NO_SHORTCUT], "hub": [NO_REDIRECT, RR_CLIENT]},
     "hub reflects BGP routes to it without `next-hop-self`"),
    ({"spoke1": [NO_DYNAMIC, NO_SHORTCUT], "hub": [NO_REDIRECT, RR_CLIENT, NEXT_HOP_SELF]}, None),
    ({}, None),  # the dynamic binding is there
]


@pytest.mark.parametrize(("edits", "reason"), SPOKE_TO_SPOKE)
def test_spoke_to_spoke_without_a_dynamic_binding_is_unencrypted(tmp_path: Path, edits, reason):
    findings = [f for f in _real_layout(tmp_path, edits) if "would not be encrypted" in f]
    if reason is None:
        assert findings == []
    else:
        [finding] = findings
        assert ": spoke1: spoke-to-spoke traffic would not be encrypted" in finding and reason in finding


def test_contradicted_ipsec_vpn_syntax_is_reported(tmp_path: Path):
    edits = [("  type transport\n", "  mode transport\n"),
             ("  ike establish-tunnel route\n", "  ike establish-tunnel by-request\n")]
    findings = _real_layout(tmp_path, {"spoke2": edits})
    text = "\n".join(findings)
    assert "spoke2: security ipsec vpn ipsec1: `mode transport` is not ESR syntax: ESR takes `type transport`" in text
    assert "`ike establish-tunnel by-request` is seen in no ESR source" in text
    assert "IPsec mode" not in text  # the old line still says transport: read, not a mode mismatch


def test_redirect_on_a_spoke_is_not_judged(tmp_path: Path):
    """Real spokes carry `ip nhrp redirect` [V]: it neither makes them hubs nor is a phase finding."""
    findings = _seeded(tmp_path, "phase3", "spoke1", "  ip nhrp shortcut\n", "  ip nhrp shortcut\n  ip nhrp redirect\n")
    messages = [f.split(": ", 1)[1] for f in findings]  # device: message, without the path
    assert not any(m.startswith("spoke1:") and ("redirect" in m or "NHS" in m) for m in messages), findings


def test_a_binding_to_an_unconfigured_vpn_is_reported(tmp_path: Path):
    rename = ("ip nhrp ipsec ipsec_spoke dynamic", "ip nhrp ipsec spoke_vpn dynamic")
    findings = _real_layout(tmp_path, {"spoke2": [rename]})
    assert any(": spoke2: the tunnel binds IPsec VPN spoke_vpn (dynamic), but no `security ipsec vpn spoke_vpn` is "
               "configured" in f for f in findings), findings


@pytest.mark.parametrize(("printed", "short"), [
    ("gigabitethernet 1/0/1", "gi1/0/1"), ("tengigabitethernet 1/0/2", "te1/0/2"), ("gi1/0/2.10", "gi1/0/2.10"),
    ("gigabitethernet 1/0/2.10", "gi1/0/2.10"), ("port-channel 1", "po1"), ("bridge 127", "br127"),
    ("br127", "br127"), ("Te1/0/1", "te1/0/1"),
])
def test_interface_names_are_normalised_to_the_short_form(printed: str, short: str):
    assert short_name(printed) == short


def test_old_forms_and_short_names_are_read_too():
    """labkit's own (pre-correction) form: short names, `mode transport`, `by-request`, `multicast nhs`."""
    text = ("hostname s1\ninterface te1/0/1\n  ip address 192.0.2.2/30\nexit\n"
            "interface tengigabitethernet 1/0/2.10\n  ip vrf forwarding CORP\n  ip address 10.1.0.1/24\nexit\n"
            "tunnel gre 1\n  local interface tengigabitethernet 1/0/1\n  ip address 10.255.0.11/24\n"
            "  ip nhrp nhs 10.255.0.1\n  ip nhrp multicast nhs\n  ip nhrp ipsec DMVPN static\nexit\n"
            "security ipsec vpn DMVPN\n  mode transport\n  ike establish-tunnel by-request\nexit\n")
    config = load_esr_config(Path("s1.cfg"), text)
    assert (config.role, config.nbma, config.multicast_nhs, config.multicast_dynamic) == (
        "spoke", IPv4Address("192.0.2.2"), True, False)
    assert config.vrf_of == {"te1/0/2.10": "CORP"}
    assert [(v.mode, v.mode_keyword, v.establish) for v in config.ipsec_vpns] == [("transport", "mode", "by-request")]
    assert [(b.vpn, b.kind) for b in config.bindings] == [("DMVPN", "static")]
