"""Optional SA lifetimes: validated in the design, decided once in the plan (ESR's hard lifetime, the stand-in's
rekey timing), formatted by the swanctl and ESR templates, read back by the lint, and given a deadline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from labkit.design import load_design
from labkit.errors import DesignError
from labkit.plan import plan_design
from labkit.plan.show import plan_yaml
from labkit.platforms.esr import provenance
from labkit.platforms.esr.lint.roundtrip import compare
from labkit.platforms.esr.lint.rules import lint
from labkit.platforms.esr.running_config import load_esr_config
from labkit.platforms.frr_strongswan.standin import ChildRekey, IkeRekey, child_rekey, ike_rekey
from labkit.render.generate import device_config, node_files
from labkit.verify.deadlines import REKEY, timers
from tests.conftest import TOPOLOGIES

PHASE3_FILE = TOPOLOGIES / "phase3.yml"
PHASE3 = PHASE3_FILE.read_text()
LIFETIMES = ("ipsec.ike_lifetime=3600", "ipsec.sa_lifetime=1200")
# the lines a design's lifetimes add to a swanctl.conf, and nothing else
SWAN_LINE = re.compile(r" *(# the design's (IKE|IPsec) SA lifetime|(rekey|over|rand|life)_time = )")


def _with(*overrides: str):
    return load_design(PHASE3_FILE, overrides)


def _block(config: str, header: str) -> list[str]:
    """The lines of a top-level block, up to its `exit`."""
    lines = config.splitlines()
    start = lines.index(header)
    return lines[start + 1:lines.index("exit", start)]


def test_lifetimes_are_optional_and_unset_by_default():
    design = load_design(PHASE3_FILE)
    assert (design.ipsec.ike_lifetime, design.ipsec.sa_lifetime) == (None, None)
    plan = plan_design(design)["spoke1"]
    assert (plan.ike_lifetime_s, plan.sa_lifetime_s, plan.stand_in.ike_rekey, plan.stand_in.child_rekey) == \
        (None, None, None, None)
    assert not re.search(r"lifetime_s|_rekey:|SA lifetimes", plan_yaml(design))


@pytest.mark.parametrize(("lines", "expected"), [
    ("  ike_lifetime: 1.5\n", r"design\.yml:28: ipsec\.ike_lifetime: must be a whole number from 60 to 86400, "
                             r"found 1\.5"),
    ("  ike_lifetime: '3600'\n", r":28: ipsec\.ike_lifetime: must be a whole number from 60 to 86400, found '3600'"),
    ("  ike_lifetime: true\n", r":28: ipsec\.ike_lifetime: must be a whole number from 60 to 86400, found True"),
    ("  sa_lifetime: 59\n", r":28: ipsec\.sa_lifetime: must be from 60 to 86400, found 59"),
    ("  ike_lifetime: 86401\n", r":28: ipsec\.ike_lifetime: must be from 60 to 86400, found 86401"),
    ("  ike_lifetime: 600\n  sa_lifetime: 600\n",
     r":29: ipsec\.sa_lifetime: must be shorter than ipsec\.ike_lifetime \(600\), found 600: the IPsec SAs are "
     r"rekeyed through the IKE SA, .*; set sa_lifetime below 600 or ike_lifetime above 600$"),
    ("  sa_lifetime: 3600\n  ike_lifetime: 1200\n", r":28: ipsec\.sa_lifetime: must be shorter than ipsec\.ike_"),
    ("  sa_lifetme: 600\n", r":28: ipsec\.sa_lifetme: unknown field; did you mean 'sa_lifetime'\?"),
])
def test_a_wrong_lifetime_names_file_line_field_and_fix(write_design, lines: str, expected: str):
    text = PHASE3.replace("  dpd_interval: 10\n", "  dpd_interval: 10\n" + lines, 1)
    with pytest.raises(DesignError) as info:
        load_design(write_design(text))
    problems = info.value.problems
    assert len(problems) == 1 and re.search(expected, problems[0]), problems


def test_a_wrong_lifetime_on_the_command_line_names_the_option():
    with pytest.raises(DesignError) as info:
        _with("ipsec.ike_lifetime=300", "ipsec.sa_lifetime=300")
    assert info.value.problems == [
        f"{PHASE3_FILE} (--set ipsec.sa_lifetime=300): ipsec.sa_lifetime: must be shorter than ipsec.ike_lifetime "
        "(300), found 300: the IPsec SAs are rekeyed through the IKE SA, which should outlive them; set sa_lifetime "
        "below 300 or ike_lifetime above 300"]


def test_either_lifetime_alone_is_valid():
    assert _with("ipsec.ike_lifetime=60").ipsec.ike_lifetime == 60
    assert _with("ipsec.sa_lifetime=86400").ipsec.sa_lifetime == 86400


def test_the_plan_maps_a_hard_lifetime_to_strongswans_rekey_timing():
    plans = plan_design(_with(*LIFETIMES))
    for plan in plans.values():  # decided once: the same on every hub and spoke
        assert (plan.ike_lifetime_s, plan.sa_lifetime_s) == (3600, 1200)
        assert plan.stand_in.ike_rekey == IkeRekey(rekey_time_s=2880, over_time_s=720, rand_time_s=360)
        assert plan.stand_in.child_rekey == ChildRekey(rekey_time_s=960, life_time_s=1200, rand_time_s=120)
        reason = plan.stand_in.reasons[-1]
        assert reason.startswith("SA lifetimes (IKE 3600 s, IPsec 1200 s) are hard lifetimes L")
        assert "between 70% and 80%" in reason


@pytest.mark.parametrize("lifetime", [60, 61, 65, 99, 1199, 3600, 86399, 86400])
def test_rekeying_always_ends_before_the_hard_lifetime(lifetime: int):
    """strongSwan subtracts up to rand_time from rekey_time: a rekey starts between 0.7 L and 0.8 L (whole
    seconds); an IKE SA is deleted over_time after its rekey point, so by L at the latest."""
    ike, child = ike_rekey(lifetime), child_rekey(lifetime)
    assert ike.rekey_time_s + ike.over_time_s == lifetime
    assert child.life_time_s == lifetime
    for timing in (ike, child):
        assert abs(timing.rekey_time_s - 0.8 * lifetime) <= 0.5 and abs(timing.rand_time_s - 0.1 * lifetime) <= 0.5
        assert timing.rand_time_s < timing.rekey_time_s < lifetime
    assert ike_rekey(65).rand_time_s == 7  # 6.5 s: halves round up


def test_only_the_lifetime_given_is_planned():
    stand_in = plan_design(_with("ipsec.sa_lifetime=120"))["hub1"].stand_in
    assert stand_in.ike_rekey is None and stand_in.child_rekey == ChildRekey(96, 120, 12)
    assert "(IPsec 120 s)" in stand_in.reasons[-1]


def test_swanctl_gets_the_rekey_timing_and_nothing_else_changes():
    before = node_files(load_design(PHASE3_FILE))["nodes/spoke1/swanctl/swanctl.conf"][0]
    after = node_files(_with(*LIFETIMES))["nodes/spoke1/swanctl/swanctl.conf"][0]
    connection, children = after.split("    children {\n")
    for line in ("    rekey_time = 2880s\n", "    over_time = 720s\n", "    rand_time = 360s\n"):
        assert line in connection
    for line in ("        rekey_time = 960s\n", "        life_time = 1200s\n", "        rand_time = 120s\n"):
        assert line in children
    kept = "".join(line for line in after.splitlines(keepends=True) if not SWAN_LINE.match(line))
    assert kept.replace(" --set " + " --set ".join(LIFETIMES), "") == before
    assert "_time = " not in before


def _esr_body(config: str) -> str:
    """An ESR config without its header (provenance and stand-in notes) and its lifetime lines."""
    body = config[config.index("\nhostname "):]
    return "".join(line for line in body.splitlines(keepends=True) if not line.startswith("  lifetime seconds "))


def test_esr_policies_get_the_lifetimes_classified_as_assumed():
    design = _with(*LIFETIMES)
    config = device_config(design, design.site("spoke1"))
    assert "  lifetime seconds 3600" in _block(config, "security ike policy DMVPN-IKE")
    assert "  lifetime seconds 1200" in _block(config, "security ipsec policy DMVPN-ESP")
    lifetimes = [c for c in provenance.classify(config) if c.name == "sa lifetime"]
    assert len(lifetimes) == 2 and {c.status for c in lifetimes} == {"assumed"}
    assert provenance.UNKNOWN not in provenance.classify(config)
    head = config.split("SECRET:")[0]
    assert "sa lifetime [-]" in head and "SA lifetimes (IKE 3600 s, IPsec 1200 s)" in head
    plain = load_design(PHASE3_FILE)
    assert _esr_body(config) == _esr_body(device_config(plain, plain.site("spoke1")))


def _configs(design, texts: dict[str, str] | None = None):
    texts = texts or {site.name: device_config(design, site) for site in design.sites}
    return [load_esr_config(Path(f"{name}.cfg"), text) for name, text in texts.items()]


def test_the_round_trip_reads_the_lifetimes_back_and_compares_them_with_the_plan():
    design, plain = _with(*LIFETIMES), load_design(PHASE3_FILE)
    configs = _configs(design)
    assert (configs[0].ike_lifetime, configs[0].sa_lifetime) == (3600, 1200)
    assert [str(f) for f in compare(design, configs)] == []
    assert [str(f) for f in lint(configs)] == []
    drifted = [str(f) for f in compare(plain, configs)]
    assert any("hub1.cfg" in f and f"IKE SA lifetime: config has 3600, design {PHASE3_FILE} says none" in f
               for f in drifted), drifted
    assert any("IPsec SA lifetime: config has 1200" in f for f in drifted)


def test_devices_with_different_lifetimes_are_not_a_lint_finding():
    """IKEv2 peers may differ in lifetimes (each rekeys on its own schedule): no cross-device rule."""
    design = _with(*LIFETIMES)
    texts = {site.name: device_config(design, site) for site in design.sites}
    texts["spoke2"] = texts["spoke2"].replace("lifetime seconds 1200", "lifetime seconds 900")
    assert [str(f) for f in lint(_configs(design, texts))] == []


def test_the_rekey_deadline_waits_two_sa_lifetimes():
    t = timers(_with(*LIFETIMES))
    assert (t.ike_lifetime_s, t.sa_lifetime_s) == (3600, 1200)
    assert REKEY(_with("ipsec.sa_lifetime=120")) == 2 * 120 + 10
    assert REKEY(load_design(PHASE3_FILE)) == 0
    assert timers(load_design(PHASE3_FILE)).sa_lifetime_s is None
