"""ESR configurations parsed back (TTP) and checked: the committed ones are clean and match their
designs; each seeded mistake is reported with the device, file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from labkit.cli import main
from labkit.design import load_design
from labkit.lint.esr_config import load_esr_config
from labkit.lint.roundtrip import compare
from labkit.lint.rules import lint
from tests.conftest import ROOT, TOPOLOGIES

CONFIGS = ROOT / "configs"
SCENARIOS = sorted(p.stem for p in TOPOLOGIES.glob("*.yml"))


def _load(folder: Path):
    return [load_esr_config(f) for f in sorted(folder.glob("*.cfg"))]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_committed_configs_are_consistent_and_match_the_design(scenario: str):
    configs = _load(CONFIGS / scenario)
    design = load_design(TOPOLOGIES / f"{scenario}.yml")
    assert {n for c in configs for n in c.hostnames} == {s.name for s in design.sites}
    assert [str(f) for f in lint(configs)] == []
    assert [str(f) for f in compare(design, configs)] == []


def _seeded(tmp_path: Path, scenario: str, node: str, old: str, new: str) -> list[str]:
    folder = tmp_path / scenario
    shutil.copytree(CONFIGS / scenario, folder)
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
    ("phase1", "spoke1", "  ip nhrp multicast nhs", "  ip nhrp multicast nhs\n  ip nhrp shortcut",
     "`ip nhrp shortcut` does not belong on a spoke in phase 1"),
    ("phase3", "hub1", "  ip nhrp redirect\n", "", "a phase 3 hub needs `ip nhrp redirect`"),
    ("phase3", "spoke2", "    network 172.16.2.0/24\n", "", "LAN 172.16.2.0/24 on gi1/0/2 is not advertised in BGP"),
    ("mpls", "spoke3", "route-target import 65000:20", "route-target import 65000:21",
     "vrf ATM exports 65000:20, spoke3 imports 65000:21"),
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


def test_round_trip_reports_a_config_that_drifted_from_its_design(tmp_path: Path):
    folder = tmp_path / "phase2"
    shutil.copytree(CONFIGS / "phase2", folder)
    spoke = folder / "spoke1.cfg"
    spoke.write_text(spoke.read_text().replace("  ip nhrp shortcut\n", ""))
    findings = [str(f) for f in compare(load_design(TOPOLOGIES / "phase2.yml"), _load(folder))]
    assert any("spoke1.cfg" in f and "ip nhrp shortcut: config has False" in f for f in findings), findings


def test_lint_command_names_device_and_line(tmp_path: Path, capsys):
    _seeded(tmp_path, "phase3", "spoke2", "ip nhrp nhs 10.255.0.1", "ip nhrp nhs 10.255.0.9")
    assert main(["-q", "lint", str(tmp_path / "phase3")]) == 1
    out = capsys.readouterr().out
    line = next(n for n, t in enumerate((tmp_path / "phase3" / "spoke2.cfg").read_text().splitlines(), 1)
                if "ip nhrp nhs 10.255.0.9" in t)
    assert f"spoke2.cfg:{line}: spoke2: NHS 10.255.0.9 is no hub's tunnel address" in out
    assert main(["-q", "lint", str(CONFIGS)]) == 0


def test_a_differing_key_is_reported_without_showing_it(tmp_path: Path):
    findings = _seeded(tmp_path, "phase3", "spoke1", "ascii-text <DMVPN-PRE-SHARED-KEY>", "ascii-text typo-key-1")
    assert any("pre-shared key differs" in f for f in findings) and "typo-key-1" not in "\n".join(findings)
