"""`labkit bench DESIGN --together TIMES`: the design's measured cases (failover, takeover, rekey, WAN change...) run
alone in the warm microVM, against the same cases in a `make test` that ran them beside other labs (TIMES: its
reports/make-test-times.json). A case worse together by more than LOSS_SLACK_MS or SLACK_SHARE of its loss, or by
more than RECONVERGE_SLACK_S or SLACK_SHARE of its recovery time, is a defect of the scheduler that keeps other labs'
heavy steps out of measured windows (labkit.runtime.scheduler)."""

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


def bench_together(design: Design, times_file: Path, console: Console, out: Path) -> dict:
    """Run the design alone, compare each measured case with the concurrent run, write together.json."""
    others = [lab for lab in recorded_labs() if lab != design.lab]
    if others:
        raise LabkitError(f"other labs run on this machine ({', '.join(others)}): a run alone needs it to itself; "
                          "`labkit down` them first")
    console.say(f"{design.origin} alone in the warm microVM")
    alone = run_lab(design, console, out / f"reports-alone-{design.lab}")
    cases = {k: v for k, v in alone.items() if isinstance(v, dict) and "loss_ms" in v}
    if not cases:
        raise LabkitError(f"{design.origin} measured no case (no failover:, cluster or measured edge case)")
    together = together_figures(times_file, set(cases))
    rows = []
    for case, figures in sorted(cases.items()):
        other = together.get(case, {})
        loss = worse(figures["loss_ms"], other.get("loss_ms"), LOSS_SLACK_MS)
        slower = worse(figures.get("reconverge_s"), other.get("reconverge_s"), RECONVERGE_SLACK_S)
        rows.append({"case": case, "alone": {k: figures.get(k) for k in ("loss_ms", "reconverge_s")},
                     "together": {k: other.get(k) for k in ("loss_ms", "reconverge_s")},
                     "worse_together": loss or slower})
    results = {"design": design.origin, "times_file": str(times_file), "cases": rows,
               "slack": {"loss_ms": LOSS_SLACK_MS, "reconverge_s": RECONVERGE_SLACK_S, "share": SLACK_SHARE}}
    _write(out / f"together-{design.lab}.json", results, console)
    print(table(rows))
    return results


def table(rows: list[dict]) -> str:
    lines = [("case", "loss alone ms", "loss together ms", "reconverge alone s", "reconverge together s", "verdict")]
    lines += [(r["case"], str(r["alone"]["loss_ms"]), str(r["together"]["loss_ms"]), str(r["alone"]["reconverge_s"]),
               str(r["together"]["reconverge_s"]), "WORSE together" if r["worse_together"] else "within slack")
              for r in rows]
    return _aligned(lines)
