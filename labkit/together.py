"""`labkit bench DESIGN --together TIMES [--repeat N]`: the design's measured cases (failover, takeover, rekey, WAN
change...) run alone in the warm microVM, N times, against the same cases in a `make test` that ran them beside other
labs (TIMES: its reports/make-test-times.json). A case's figure alone is a sample of a spread, not a constant: a
recovery that waits on nhrpd's registration retries (2, 4, 8 s apart) lands on one retry or the next as IKE under
emulation is a little faster or slower, so alone runs of one case differ by seconds (edge.wan_address_change lost
3.3 to 8.65 s in five). A case worse together than its worst alone run by more than LOSS_SLACK_MS or SLACK_SHARE of
its loss, or by more than RECONVERGE_SLACK_S or SLACK_SHARE of its recovery time, is a defect of the scheduler that
keeps other labs out of measured windows (labkit.runtime.scheduler)."""

from __future__ import annotations

import json
from pathlib import Path

from labkit.bench import _aligned, _write, run_lab
from labkit.console import Console
from labkit.design.model import Design
from labkit.errors import LabkitError
from labkit.runtime.base import recorded_labs

LOSS_SLACK_MS = 100
RECONVERGE_SLACK_S = 1.0  # a recovery is polled about once a second: finer differences are not measured
SLACK_SHARE = 0.10


def together_figures(times_file: Path, cases: set[str]) -> dict[str, dict]:
    """The cases' figures from the `make test` run whose lab test measured most of them."""
    try:
        tests = json.loads(times_file.read_text())["tests"]
    except (OSError, ValueError, KeyError) as exc:
        raise LabkitError(f"{times_file}: no `make test` table to compare with ({exc}); run `make test` first") \
            from None
    best = max(tests, key=lambda t: len(cases & set(t.get("measured", {}))), default=None)
    if best is None or not cases & set(best.get("measured", {})):
        raise LabkitError(f"{times_file}: no lab test measured {', '.join(sorted(cases))}")
    return best["measured"]


def worse(alone: float | None, together: float | None, slack: float) -> bool:
    """Together worse than alone by more than `slack` and SLACK_SHARE of the figure (a recovery that never came
    together, and did alone, is worse)."""
    if alone is None or together is None:
        return together is None and alone is not None
    return together - alone > max(slack, SLACK_SHARE * alone)


def bench_together(design: Design, times_file: Path, console: Console, out: Path, repeat: int = 1) -> dict:
    """Run the design alone `repeat` times, compare each measured case with the concurrent run, write
    together-<lab>.json."""
    others = [lab for lab in recorded_labs() if lab != design.lab]
    if others:
        raise LabkitError(f"other labs run on this machine ({', '.join(others)}): a run alone needs it to itself; "
                          "`labkit down` them first")
    runs = []
    for run in range(1, repeat + 1):
        console.say(f"{design.origin} alone in the warm microVM (run {run} of {repeat})")
        timings = run_lab(design, console, out / f"reports-alone-{design.lab}" / str(run))
        runs.append({k: v for k, v in timings.items() if isinstance(v, dict) and "loss_ms" in v})
    if not runs[0]:
        raise LabkitError(f"{design.origin} measured no case (no failover:, cluster or measured edge case)")
    together = together_figures(times_file, set(runs[0]))
    rows = [compared(case, [r.get(case, {}) for r in runs], together.get(case, {})) for case in sorted(runs[0])]
    results = {"design": design.origin, "times_file": str(times_file), "alone_runs": repeat, "cases": rows,
               "slack": {"loss_ms": LOSS_SLACK_MS, "reconverge_s": RECONVERGE_SLACK_S, "share": SLACK_SHARE}}
    _write(out / f"together-{design.lab}.json", results, console)
    console.show(table(rows))
    return results


def compared(case: str, alone_runs: list[dict], together: dict) -> dict:
    """A case's row: its figures in every alone run, their worst, the concurrent run's, and whether that is worse
    than the worst alone run by more than the slack."""
    figures = {}
    for key in ("loss_ms", "reconverge_s"):
        seen = [r.get(key) for r in alone_runs]
        figures[key] = None if None in seen or not seen else max(seen)
    loss = worse(figures["loss_ms"], together.get("loss_ms"), LOSS_SLACK_MS)
    slower = worse(figures["reconverge_s"], together.get("reconverge_s"), RECONVERGE_SLACK_S)
    return {"case": case, "alone": figures,
            "alone_runs": [{k: r.get(k) for k in ("loss_ms", "reconverge_s")} for r in alone_runs],
            "together": {k: together.get(k) for k in ("loss_ms", "reconverge_s")}, "worse_together": loss or slower}


def table(rows: list[dict]) -> str:
    lines = [("case", "loss alone ms (runs)", "loss together ms", "reconverge alone s (runs)",
              "reconverge together s", "verdict")]
    lines += [(r["case"], _runs(r, "loss_ms"), str(r["together"]["loss_ms"]), _runs(r, "reconverge_s"),
               str(r["together"]["reconverge_s"]), "WORSE together" if r["worse_together"] else "within slack")
              for r in rows]
    return _aligned(lines)


def _runs(row: dict, key: str) -> str:
    """The worst alone figure, and every run's when there were several."""
    runs = [str(r[key]) for r in row["alone_runs"]]
    return str(row["alone"][key]) + (f" ({', '.join(runs)})" if len(runs) > 1 else "")
