"""The fault and misconfiguration library: one file per fault, each step rendered for a node of the phase 3
design with that node's values; the wrong values differ from the design's, and the wrong key is as secret."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from labkit.design import load_design
from labkit.errors import LabkitError
from labkit.platforms.frr_strongswan.syntax import swan_proposal
from labkit.render.faults import (
    UnknownFault,
    fault_names,
    fault_script,
    fault_secrets,
    fault_values,
    has_restore,
    wrong_values,
)
from labkit.render.generate import node_files
from labkit.verify.collect import Collector, Evidence
from labkit.verify.run import fault_injector
from tests.conftest import ROOT, TOPOLOGIES

DESIGN = load_design(TOPOLOGIES / "phase3.yml")
FOLDER = ROOT / "labkit" / "platforms" / "frr_strongswan" / "templates" / "faults"
MISCONFIGURATIONS = ("wrong_psk", "ike_proposal_mismatch", "esp_proposal_mismatch", "gre_key_mismatch",
                     "nhrp_network_id_mismatch")


MPLS_DESIGN = load_design(TOPOLOGIES / "mpls.yml")


def script(fault: str, step: str = "apply", node: str = "spoke3", **params: object) -> str:
    design = MPLS_DESIGN if "design.mpls" in (FOLDER / f"{fault}.sh.j2").read_text() else DESIGN
    return fault_script(fault, step, fault_values(design, node), **params)


def test_adding_a_fault_is_adding_a_file():
    files = {p.name.removesuffix(".sh.j2") for p in FOLDER.glob("*.sh.j2") if not p.name.startswith("_")}
    assert set(fault_names()) == files
    assert {"node_fail", "node_start", "link_down", "link_up", "ipsec_restart", *MISCONFIGURATIONS} <= files


def _site_fault(fault: str) -> bool:
    """A fault of a site's own (it reads `site`): for hubs and spokes, not the transport router."""
    return "site." in (FOLDER / f"{fault}.sh.j2").read_text()


@pytest.mark.parametrize(("fault", "node"), [(fault, node) for fault in fault_names()
                                             for node in ("hub1", "spoke3", "inet")
                                             if node != "inet" or not _site_fault(fault)])
def test_every_step_renders_to_valid_shell_for_every_node(fault: str, node: str):
    for step in ("apply", "restore") if has_restore(fault) else ("apply",):
        text = script(fault, step, node, interface="eth1", mtu=1400, spoke="spoke1", target="172.16.2.1",
                      vrf="CORP", other="ATM")
        assert text and "{{" not in text and "{%" not in text
        parsed = subprocess.run(["sh", "-n", "-c", text], capture_output=True, text=True)  # parsed, never run
        assert parsed.returncode == 0, f"{fault} {step}: {parsed.stderr}"


def test_every_misconfiguration_has_its_own_restore():
    assert all(has_restore(f) for f in MISCONFIGURATIONS)
    assert has_restore("link_down") and has_restore("node_fail")
    assert not has_restore("node_start") and not has_restore("ipsec_restart")


def test_the_node_faults_keep_their_behaviour():
    assert fault_script("link_down", interface="eth1") == "ip link set eth1 down"
    assert fault_script("link_down", interface="eth1; reboot") == "ip link set 'eth1; reboot' down"
    assert fault_script("link_down", "restore", interface="eth1") == fault_script("link_up", interface="eth1")
    assert fault_script("node_fail", "restore") == fault_script("node_start")
    start = fault_script("node_start")
    assert "kill -9" in start and "xfrm state flush" in start and start.endswith("sh /etc/labkit/start.sh")
    # on its own: in `ip -batch` the flush fails, and stops the batch before the IPsec SAs are flushed (a restarted
    # spoke then kept its former SAs in the kernel, unknown to its new charon: out of the cloud for their lifetime)
    assert "\nip route flush table main " in start and start.index("flush table main") < start.index("xfrm state")
    assert 'echo "link set $l down"; done | ip -force -batch -' in fault_script("node_fail")
    assert fault_script("ipsec_restart").endswith("sh /etc/labkit/ipsec-start.sh")


def test_unknown_faults_steps_and_missing_values_are_named():
    with pytest.raises(UnknownFault, match="unknown fault 'meteor'; faults: esp_proposal_mismatch, "
                       "frag_needed_filtered, gre_key_mismatch"):
        fault_script("meteor")
    with pytest.raises(UnknownFault, match="fault node_start has no restore step; steps: apply"):
        fault_script("node_start", "restore")
    with pytest.raises(LabkitError, match=r"fault link_down \(apply\) needs a value it was not given: 'interface'"):
        fault_script("link_down")
    with pytest.raises(LabkitError, match=r"fault wrong_psk .* 'wrong' is undefined"):
        fault_script("wrong_psk")  # a misconfiguration needs the node's values


def test_the_wrong_values_differ_from_the_design():
    wrong = wrong_values(DESIGN)
    assert wrong.psk != DESIGN.ipsec.psk and len(wrong.psk) == len(DESIGN.ipsec.psk)
    assert wrong.gre_key != DESIGN.overlay.gre_key and wrong.nhrp_network_id != DESIGN.overlay.nhrp_network_id
    assert swan_proposal(wrong.ike_proposal) != swan_proposal(DESIGN.ipsec.ike_proposal)
    assert swan_proposal(wrong.esp_proposal) != swan_proposal(DESIGN.ipsec.esp_proposal)
    assert wrong.psk not in repr(wrong)


def test_wrong_psk_loads_another_key_and_its_restore_the_nodes_own():
    wrong = wrong_values(DESIGN).psk
    apply, restore = script("wrong_psk"), script("wrong_psk", "restore")
    assert f'secret = "{wrong}"' in apply and DESIGN.ipsec.psk not in apply
    assert "swanctl --load-creds --file /run/labkit-fault/swanctl.conf" in apply
    assert "swanctl --terminate --ike dmvpn" in apply
    assert "swanctl --load-creds --file /etc/swanctl/swanctl.conf" in restore
    assert wrong not in restore and DESIGN.ipsec.psk not in restore


@pytest.mark.parametrize(("fault", "key", "proposal"), [
    ("ike_proposal_mismatch", "proposals", "aes256-sha256-modp2048"),
    ("esp_proposal_mismatch", "esp_proposals", "aes128-sha256"),
])
def test_proposal_mismatches_load_an_altered_copy_of_the_nodes_connection(fault: str, key: str, proposal: str):
    apply = script(fault)
    assert f"s/^\\( *\\){key} = .*/\\1{key} = {proposal}/' /etc/swanctl/swanctl.conf" in apply
    assert f"grep -q '^ *{key} = {proposal}$'" in apply  # the change took, or the apply fails
    assert "swanctl --load-conns --file /run/labkit-fault/swanctl.conf" in apply
    assert "swanctl --terminate --ike dmvpn" in apply
    assert "swanctl --load-conns --file /etc/swanctl/swanctl.conf" in script(fault, "restore")


def test_gre_key_mismatch_changes_the_key_in_place():
    assert "ip link change gre1 type gre key 43" in script("gre_key_mismatch")
    assert "ip link change gre1 type gre key 42" in script("gre_key_mismatch", "restore")
    assert "ip link del" not in script("gre_key_mismatch")  # the interface stays, and stays up


def test_nhrp_network_id_mismatch_changes_the_running_config_only():
    apply = script("nhrp_network_id_mismatch")
    assert "vtysh -c 'configure terminal' -c 'interface gre1' -c 'ip nhrp network-id 2'" in apply
    assert "grep -qx ' ip nhrp network-id 2'" in apply and "write" not in apply
    assert "-c 'ip nhrp network-id 1'" in script("nhrp_network_id_mismatch", "restore")


class Runtime:
    """A runtime stand-in whose nodes print back the script they were given: the worst a node could do."""

    def __init__(self):
        self.scripts: list[tuple[str, str]] = []

    def inject(self, fault, waited=None):
        self.scripts.append((fault.node, fault.script))
        return fault.script


class Sessions:
    def reset(self, node: str) -> None:
        pass


def test_the_injector_renders_for_the_node_and_evidence_redacts_both_keys(tmp_path: Path):
    runtime = Runtime()
    evidence = Evidence(tmp_path / "evidence", (*DESIGN.secrets, *fault_secrets(DESIGN)))
    collector = Collector(Sessions(), {}, evidence, injector=fault_injector(DESIGN, runtime))
    sink: list[str] = []
    collector.inject("spoke3", "wrong_psk", sink)
    collector.inject("spoke3", "gre_key_mismatch", sink, step="restore")
    assert [node for node, _ in runtime.scripts] == ["spoke3", "spoke3"]
    assert wrong_values(DESIGN).psk in runtime.scripts[0][1]
    saved = [(tmp_path / path).read_text() for path in sink]
    assert saved[0].startswith("# spoke3: apply wrong_psk") and 'secret = "<redacted>"' in saved[0]
    assert saved[1].startswith("# spoke3: restore gre_key_mismatch")
    text = "".join(saved) + evidence.redact(f"{DESIGN.ipsec.psk} {wrong_values(DESIGN).psk}")
    assert DESIGN.ipsec.psk not in text and wrong_values(DESIGN).psk not in text


def test_a_wan_address_change_moves_the_spoke_and_its_gateway_and_back():
    apply, restore = script("wan_renumbered"), script("wan_renumbered", "restore")
    # spoke3: 198.51.100.14/30 behind .13; the pool's spare link: .254/30 behind .253
    assert apply.index("ip addr add 198.51.100.254/30 dev eth1") < apply.index("ip addr del 198.51.100.14/30 dev eth1")
    assert ("-c 'no ip route 198.51.100.0/24 198.51.100.13' -c 'ip route 198.51.100.0/24 198.51.100.253'"
            in apply)
    assert "ip addr add 198.51.100.14/30 dev eth1" in restore and "ip addr del 198.51.100.254/30 dev eth1" in restore
    assert "-c 'ip route 198.51.100.0/24 198.51.100.13'" in restore
    moved = script("wan_gateway_moved", node="inet", spoke="spoke3")
    assert "ip addr add 198.51.100.253/30 dev eth4" in moved and "ip addr del 198.51.100.13/30 dev eth4" in moved
    assert "vtysh" not in moved  # the transport has no FRR
    back = script("wan_gateway_moved", "restore", node="inet", spoke="spoke3")
    assert "ip addr add 198.51.100.13/30 dev eth4" in back and "ip addr del 198.51.100.253/30 dev eth4" in back


def test_a_lan_host_takes_the_far_end_of_the_lan_and_gives_it_back():
    apply, restore = script("lan_host"), script("lan_host", "restore")
    assert "ip link set lan0-end netns \"$host\"" in apply
    assert "ip addr add 172.16.3.2/24 dev lan0-end" in apply and "ip route add default via 172.16.3.1" in apply
    assert "ip link set lan0-end netns $$" in restore and "kill \"$host\"" in restore


def test_node_reset_stops_everything_in_the_node_then_starts_it_as_node_start_does():
    reset = script("node_reset", node="spoke1", mtu=1500)
    assert reset.endswith(fault_script("node_start"))
    assert 'kill -9 "$p"' in reset and "[ \"$p\" != 1 ]" in reset  # never a container's init
    assert "mtu 1500" in reset and '"rule add pref 0 table local"' in reset


def test_overlay_removed_negates_the_nodes_own_nhrp_lines_and_restores_from_its_file():
    removed = script("overlay_removed", node="spoke1")
    assert "no router bgp 65000" in removed and "no tunnel source" in removed and "/etc/frr/frr.conf" in removed
    assert script("overlay_removed", "restore", node="spoke1").startswith("set -e\nvtysh -b")


def test_mss_clamp_removed_deletes_exactly_the_rules_the_start_script_adds():
    rules = [line for line in node_files(DESIGN)["nodes/spoke1/labkit/start.sh"][0].splitlines() if "TCPMSS" in line]
    deleted = script("mss_clamp_removed", node="spoke1").splitlines()[1:]
    assert len(rules) == 2 and deleted == [f"iptables -t mangle {r.replace('-A ', '-D ', 1)}" for r in rules]
