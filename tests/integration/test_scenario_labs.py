"""Every other scenario for real, as `make lab-<scenario> KEEP=0` runs it: generate, up, the scenario's whole
suite (each check must pass), down, nothing left behind; likewise designs of shapes no committed design has
(tests/integration/shapes/). The phase 3 test covers the rest of the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.design import load_design
from labkit.verify.deadlines import LONG_OUTAGE
from labkit.verify.suites import suite_for
from tests.integration.conftest import check_prerequisites, design_copy, leftovers

pytestmark = pytest.mark.lab

# each scenario's `labkit run` limit: about three times what it takes on this machine kind (TCG); a hung lab
# fails much sooner (the VM watchdog), this only bounds what nothing else would
# (keptout: 439 s measured with its two lanes, 70 s up with a VM boot and 363 s of checks; nat: 168 s measured
# once, 34 s up and 134 s of checks)
RUN_LIMIT_S = {"phase1": 420, "phase2": 420, "mpls": 480, "failover": 1500, "cluster": 900, "keptout": 1320,
               "scale": 480, "edge": 1000, "nat": 900, "dual-hub-phase2": 900, "dual-hub-phase3": 900}
SCENARIOS = list(RUN_LIMIT_S)
# the scale lab, small: one spoke more than its file gives, so that `--set` reaches the lab, and past the full
# mesh's threshold, so that the linear checks (each spoke to the hub, the sampled pairs) run for real
SCALE_SPOKES = 5
EXTRA_ARGS = {"scale": ("--set", f"spokes.count={SCALE_SPOKES}")}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_lab_passes_its_suite(scenario: str, tmp_path: Path, labkit):
    check_prerequisites()
    lab = f"itest-{scenario}"
    design = design_copy(tmp_path, scenario, lab)
    extra = EXTRA_ARGS.get(scenario, ())
    labkit("down", str(design), *extra)
    try:
        run = labkit("run", str(design), "--no-keep", *extra, timeout=RUN_LIMIT_S[scenario])
        report_file = tmp_path / "reports" / lab / "report.json"
        assert report_file.exists(), f"no report:\n{run.stderr[-3000:]}"
        report = json.loads(report_file.read_text())
        labkit.measured = {k: {f: v[f] for f in ("loss_ms", "budget_ms", "reconverge_s")}
                           for k, v in report["timings"].items() if isinstance(v, dict) and "loss_ms" in v}
        failed = [f"{c['id']}: {c['reason']}" for c in report["checks"] if c["status"] != "pass"]
        assert run.returncode == 0 and not failed, "\n".join(failed) or run.stderr[-3000:]
        assert report["summary"]["passed"] == len(report["checks"]) == len(suite_for(load_design(design, extra[1::2])))
        if scenario == "failover":
            cases = {k: v for k, v in report["timings"].items() if k.startswith("failover.") and "loss_ms" in v}
            assert len(cases) == 6, report["timings"]
            assert all(v["reconverge_s"] is not None and v["loss_ms"] <= v["budget_ms"] for v in cases.values())
            outage = report["timings"]["failover.long_outage"]  # past every retry of the spokes, then back in time
            assert outage["outage_s"] >= LONG_OUTAGE(load_design(design)) and outage["back_s"] <= outage["deadline_s"]
        if scenario == "mpls":
            ids = {c["id"] for c in report["checks"]}
            assert {"mpls.isolation", "mpls.labels_on_the_wire.CORP", "mpls.labels_on_the_wire.ATM"} <= ids
        if scenario == "keptout":
            joined = {k: v for k, v in report["timings"].items() if k.endswith(".joined")}
            outs = {k: v for k, v in report["timings"].items() if k.endswith(".out")}
            assert len(joined) == 5 and len(outs) == 4, report["timings"]
            assert all(v["joined_s"] <= v["deadline_s"] for v in joined.values())
        if scenario == "scale":
            assert report["design"]["spokes"] == SCALE_SPOKES and report["design"]["set"] == [extra[1]]
            ids = {c["id"] for c in report["checks"]}
            assert {"phase3.sampled_shortcuts", "paths.hubs_and_sample"} <= ids and "paths.full_mesh" not in ids
        if scenario == "edge":
            timings = report["timings"]
            assert timings["mtu.boundary"]["tunnel_mtu"] == 1400
            assert timings["pmtud.learned"]["path_mtu"] < 1400
            assert all(len(seen) == 3 for seen in timings["edge.rekey"]["spi_generations"].values())
            assert timings["edge.underlay_blocked.stand_in_gap"]["probes"]["spoke1-hub1"]["loss_ms"] <= 1000
        if scenario == "nat":
            timings = report["timings"]
            assert timings["edge.pat_to_pat.stand_in_gap"]["probes"]["spoke1-hub1"]["loss_ms"] <= 1000
        if scenario.startswith("dual-hub"):  # two hubs: the phase's story and encryption, spoke-to-spoke too
            ids = {c["id"] for c in report["checks"]}
            assert {"paths.direct.spoke1-spoke2", "ipsec.transport_capture.spoke1-spoke2",
                    "ipsec.esp_counters.spoke1", "ipsec.transport_capture"} <= ids, ids
        if scenario == "cluster":
            takeover = report["timings"]["cluster.active_fails"]
            assert takeover["reconverge_s"] is not None and takeover["loss_ms"] <= takeover["budget_ms"]
    finally:
        labkit("down", str(design), *extra)
    assert leftovers(lab) == []
