"""The committed reference ESR configurations: in sync with topologies/, and a drift is named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from labkit.design import load_design
from labkit.errors import LabkitError
from labkit.platforms.esr.running_config import load_esr_config
from labkit.render.configs import out_of_sync, reference_configs, write_configs
from labkit.render.generate import device_config
from tests.conftest import ROOT, TOPOLOGIES


def _designs():
    return [load_design(p.relative_to(ROOT)) for p in sorted(TOPOLOGIES.glob("*.yml"))]


def test_committed_configs_match_their_designs(monkeypatch):
    monkeypatch.chdir(ROOT)  # design paths in the headers are relative, as `make configs` writes them
    problems = out_of_sync(_designs(), Path("configs"))
    assert not problems, "\n".join(problems) + "\nregenerate with `make configs`"


def test_a_design_change_without_regenerated_configs_names_the_files(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(ROOT)
    configs = tmp_path / "configs"
    shutil.copytree(ROOT / "configs", configs)
    design_file = tmp_path / "phase1.yml"
    design_file.write_text((TOPOLOGIES / "phase1.yml").read_text().replace("gre_key: 42", "gre_key: 43")
                           .replace("holdtime: 30", "holdtime: 60"))
    changed = load_design(design_file)
    problems = out_of_sync([changed], configs)
    assert problems and all("configs/dmvpn-phase1/" in p and "differs" in p for p in problems)
    write_configs([changed], configs)
    assert out_of_sync([changed], configs) == []
    (configs / "dmvpn-phase1" / "spoke9.cfg").write_text("hostname spoke9\n")
    assert out_of_sync([changed], configs) == [
        f"{configs}/dmvpn-phase1/spoke9.cfg: no device of {design_file} has this name"]


def test_a_users_own_design_writes_its_own_folder_and_leaves_the_committed_ones(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(ROOT)
    configs = tmp_path / "configs"
    shutil.copytree(ROOT / "configs", configs)
    own = tmp_path / "mine.yml"  # borrows phase 3's scenario label, under a lab name of its own
    own.write_text((TOPOLOGIES / "phase3.yml").read_text().replace("lab: dmvpn-phase3\n",
                                                                    "lab: mine\nscenario: phase3\n"))
    written = write_configs([load_design(own)], configs)
    assert {p.parent.name for p in written} == {"mine"}
    assert out_of_sync(_designs(), configs) == []  # every committed folder as it was


def test_two_designs_of_one_lab_name_are_refused(tmp_path: Path):
    copy = tmp_path / "copy.yml"
    copy.write_text((TOPOLOGIES / "phase3.yml").read_text())
    with pytest.raises(LabkitError, match=r"both name their lab 'dmvpn-phase3'"):
        write_configs([load_design(TOPOLOGIES / "phase3.yml"), load_design(copy)], tmp_path / "configs")


def _block(config: str, header: str) -> str:
    """The block opened by the top-level line `header`, up to its `exit`."""
    return config.split(f"\n{header}\n", 1)[1].split("\nexit\n", 1)[0]


def test_every_tunnel_carries_multicast_dynamic_as_both_real_spokes_do(monkeypatch):
    monkeypatch.chdir(ROOT)
    for design in _designs():
        for rel, text in reference_configs(design).items():
            tunnel = _block(text, "tunnel gre 1")
            assert "ip nhrp multicast dynamic" in tunnel and "multicast nhs" not in tunnel, rel


def test_the_mpls_tunnel_has_its_firewall_off_and_no_zone_pair_names_it(monkeypatch):
    """The ESR manual wants the firewall off on interfaces where MPLS switching runs."""
    monkeypatch.chdir(ROOT)
    for design in _designs():
        for rel, text in reference_configs(design).items():
            tunnel = _block(text, "tunnel gre 1")
            mpls = design.mpls is not None
            assert ("ip firewall disable" in tunnel, "security-zone" in tunnel) == (mpls, not mpls), rel
            assert not mpls or "DMVPN" not in text.split("security zone-pair", 1)[1].split("security ike", 1)[0], rel


def test_a_cluster_has_one_configuration_for_both_units_as_real_clusters_do():
    design = load_design(TOPOLOGIES / "cluster.yml")
    configs = reference_configs(design)
    assert sorted(configs) == ["dmvpn-cluster/hub1+hub2.cfg", "dmvpn-cluster/spoke1.cfg", "dmvpn-cluster/spoke2.cfg",
                               "dmvpn-cluster/spoke3.cfg"]
    text = configs["dmvpn-cluster/hub1+hub2.cfg"]
    assert text == device_config(design, design.site("hub1")) == device_config(design, design.site("hub2"))
    parsed = load_esr_config(Path("hub1+hub2.cfg"), text)
    assert parsed.hostnames == ("hub1", "hub2") and parsed.unit_addressed_ports == ()  # unit addresses on bridges
    assert parsed.access_vlans == {"te1/0/3": 20, "te2/0/3": 20, "te1/0/1": 10, "te2/0/1": 10, "te1/0/2": 30,
                                   "te2/0/2": 30}  # unit 2's ports are 2/0/N, and the sync ports join VLAN 20
    sync = _block(text, "bridge 20")
    assert "ip address 10.254.255.250/29 unit 1\n  ip address 10.254.255.251/29 unit 2" in sync
    assert "  vrrp 22\n    ip address 10.254.255.249/29" in sync and "cluster-interface bridge 20" in text
    assert "ip address 10.0.0.2/24 unit 2" in _block(text, "bridge 30")
    assert "update-source 10.0.0.254" in text.split("neighbor 10.0.0.10\n", 1)[1].split("  exit\n", 1)[0]
