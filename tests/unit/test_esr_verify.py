"""`labkit verify --inventory` end to end against the replaying ESR endpoint (tests/esr_replay.py):
scrapli's eltex_esr driver over a real SSH session, the ESR TTP templates, the phase 3 suite, the report.
The outputs are hand-made (tests/fixtures/esr/), so this proves the chain, not an ESR's behaviour."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit import cli
from tests.conftest import ROOT
from tests.esr_replay import Replay, ReplayServer

FIXTURES = ROOT / "tests" / "fixtures" / "esr" / "phase3"
PASSWORD = "replay-only-password-77"  # the stand-in endpoint's: must never reach a report


@pytest.fixture
def reports(tmp_path: Path, monkeypatch) -> Path:
    """Run from the checkout (topologies/), reports under tmp_path, the replay's username set."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("LABKIT_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("LABKIT_ESR_USERNAME", "labkit")
    return tmp_path / "reports" / "dmvpn-phase3"  # reports/<lab>/


@pytest.fixture
def endpoint():
    server = ReplayServer({p.stem: Replay.load(p) for p in FIXTURES.glob("*.yml")}, "labkit", PASSWORD)
    ports = server.start()
    yield ports
    server.stop()


def test_verify_runs_the_suite_against_esr_routers(endpoint, reports: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("LABKIT_ESR_PASSWORD", PASSWORD)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("defaults: {platform: eltex_esr}\nhosts:\n" + "".join(
        f"  {name}: {{host: 127.0.0.1, port: {port}}}\n" for name, port in sorted(endpoint.items())))
    cli.main(["-q", "verify", "--inventory", str(inventory), "--scenario", "phase3"])
    folder = reports
    checks = {c["id"]: c for c in json.loads((folder / "report.json").read_text())["checks"]}
    for passing in ("nhrp.registrations.hub1", "nhrp.nhs", "ipsec.hub_spoke_sas", "routing.bgp_sessions",
                    "routing.spoke_routes", "paths.full_mesh"):
        assert checks[passing]["status"] == "pass", checks[passing]["reason"]
    # lab-only facts are missing on a router: such checks are skipped saying why, none passes vacuously
    via_hub = checks["paths.via_hub.spoke1-spoke2"]
    assert via_hub["status"] == "skip" and "has no `traceroute` fact" in via_hub["reason"]
    junit = (folder / "junit.xml").read_text()
    assert 'name="paths.via_hub.spoke1-spoke2"' in junit and "<skipped" in junit
    assert "ipsec.transport_capture" not in checks  # needs the transport router, which is lab-only
    written = "".join(p.read_text() for p in folder.rglob("*") if p.is_file())
    assert PASSWORD not in written and "show ip nhrp" in written


def test_a_refused_login_is_an_error_that_names_it(endpoint, reports: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("LABKIT_ESR_PASSWORD", "wrong-password-1")
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(f"hosts:\n  hub1: {{host: 127.0.0.1, port: {endpoint['hub1']}, timeout: 5}}\n")
    assert cli.main(["-q", "verify", "--inventory", str(inventory), "--scenario", "phase3"]) == 1
    report = json.loads((reports / "report.json").read_text())
    checks = report["checks"]  # only hub1 is in the inventory: its registrations and its routes to the spokes
    assert [c["id"] for c in checks] == ["nhrp.registrations.hub1", "routing.hub_routes"]
    for check in checks:
        assert check["status"] == "fail" and "session lost" in check["reason"] and "auth" in check["reason"].lower()
    assert "wrong-password-1" not in json.dumps(report)


def test_a_users_own_design_is_verified_into_its_own_report_folder(endpoint, reports: Path, tmp_path: Path,
                                                                   monkeypatch):
    """A copy of phase3.yml under the user's lab name, borrowing the phase 3 scenario label: the phase 3 checks,
    reported under reports/<its lab>/, nothing written where phase 3's report goes."""
    monkeypatch.setenv("LABKIT_ESR_PASSWORD", PASSWORD)
    own = tmp_path / "mine.yml"
    own.write_text((ROOT / "topologies" / "phase3.yml").read_text().replace("lab: dmvpn-phase3\n",
                                                                             "lab: mine\nscenario: phase3\n"))
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(f"hosts:\n  hub1: {{host: 127.0.0.1, port: {endpoint['hub1']}, platform: eltex_esr}}\n")
    cli.main(["-q", "verify", str(own), "--inventory", str(inventory)])
    report = json.loads((reports.parent / "mine" / "report.json").read_text())
    assert report["lab"] == "mine" and report["design"]["scenario"] == "phase3"
    # the hub's checks of phase 3's suite
    assert [c["id"] for c in report["checks"]] == ["nhrp.registrations.hub1", "routing.hub_routes"]
    assert report["parts"][:2] == ["designed state: registrations, NHS, hub-spoke SAs, BGP (BFD), spoke and hub routes",
                                   "phase 3: redirect and shortcut between two spokes, purged when idle"]
    assert not reports.exists()
