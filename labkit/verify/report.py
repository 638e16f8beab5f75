"""The verification report: console table, report.json, junit.xml; evidence/ is written as checks run."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.verify.engine import Result

MARK = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "skip": "SKIP", "blocked": "BLOCK"}


@dataclass
class Report:
    lab: str
    parts: list[str]  # the suite's parts: what in the design its checks prove
    runtime: str
    started_at: str
    duration_s: float
    timings: dict[str, Any]  # seconds per phase; per measured check, its figures
    checks: list[Result]
    resources: dict[str, float] = field(default_factory=dict)
    design: dict[str, Any] = field(default_factory=dict)  # the design file, what --set changed, hubs and spokes
    left_out: list[dict[str, str]] = field(default_factory=list)  # the registry's other parts, each with why not

    @property
    def summary(self) -> dict[str, int]:
        return {s: sum(1 for c in self.checks if c.status == s) for s in MARK}

    @property
    def all_passed(self) -> bool:
        """Something passed and nothing failed; skipped checks (not applicable to the target) are listed."""
        return self.summary["pass"] > 0 and all(c.status in ("pass", "skip") for c in self.checks)

    def as_json(self) -> dict:
        counts = self.summary
        return {
            "lab": self.lab,
            "parts": self.parts,
            "parts_left_out": self.left_out,
            "runtime": self.runtime,
            "design": self.design,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 1),
            "timings": self.timings,
            "resources": {k: round(v, 1) for k, v in self.resources.items()},
            "checks": [
                {"id": c.id, "title": c.title, "nodes": list(c.nodes), "status": c.status, "reason": c.reason,
                 "evidence": c.evidence, "duration_s": c.duration_s, "attempts": c.attempts}
                for c in self.checks
            ],
            "summary": {"passed": counts["pass"], "failed": counts["fail"], "errors": counts["error"],
                        "skipped": counts["skip"], "blocked": counts["blocked"], "total": len(self.checks)},
        }

    def junit(self) -> str:
        counts = self.summary
        root = ET.Element("testsuites")
        suite = ET.SubElement(root, "testsuite", name=f"labkit.{self.lab}", tests=str(len(self.checks)),
                           failures=str(counts["fail"]), errors=str(counts["error"]),
                           skipped=str(counts["skip"] + counts["blocked"]),
                           time=f"{self.duration_s:.1f}", timestamp=self.started_at)
        for check in self.checks:
            case = ET.SubElement(suite, "testcase", classname=f"labkit.{self.lab}", name=check.id,
                                 time=f"{check.duration_s:.2f}")
            if check.status in ("skip", "blocked"):  # blocked: the failure is reported on the check it needs
                ET.SubElement(case, "skipped", message=check.reason)
            elif check.status != "pass":
                tag = "failure" if check.status == "fail" else "error"
                ET.SubElement(case, tag, message=check.reason.splitlines()[0] if check.reason else check.status)\
                    .text = check.reason + "\nevidence:\n" + "\n".join(check.evidence)
            else:
                ET.SubElement(case, "system-out").text = check.reason
        ET.indent(root)
        return ET.tostring(root, encoding="unicode") + "\n"

    def table(self) -> str:
        width = max([len(c.id) for c in self.checks] + [5])
        lines = [f"{'check':<{width}}  result  time    detail", "-" * (width + 40)]
        for c in self.checks:
            detail = c.reason.splitlines()[0] if c.reason else ""
            lines.append(f"{c.id:<{width}}  {MARK[c.status]:<6}  {c.duration_s:5.1f}s  {detail}")
        counts = self.summary
        lines.append("-" * (width + 40))
        skipped = f", {counts['skip']} skipped (not applicable here)" if counts["skip"] else ""
        blocked = f", {counts['blocked']} blocked (a check they need did not pass)" if counts["blocked"] else ""
        lines.append(f"{counts['pass']} passed, {counts['fail']} failed, {counts['error']} errors{skipped}{blocked} "
                     f"in {self.duration_s:.1f}s ({self.lab}, runtime {self.runtime})")
        return "\n".join(lines)

    def write(self, folder: Path, redact) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "report.json").write_text(redact(json.dumps(self.as_json(), indent=2)) + "\n")
        (folder / "junit.xml").write_text(redact(self.junit()))
        (folder / "report.txt").write_text(redact(self.table()) + "\n")
