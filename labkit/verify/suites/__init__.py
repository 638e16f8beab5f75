"""Suites: which checks, in which order, for each scenario."""

from __future__ import annotations

from collections.abc import Callable

from labkit.design.model import Design
from labkit.errors import LabkitError
from labkit.verify.engine import Check
from labkit.verify.suites import cluster, failover, keptout, mpls, phase1, phase2, phase3, scale

SUITES: dict[str, Callable[[Design], list[Check]]] = {
    "phase1": phase1.checks,
    "phase2": phase2.checks,
    "phase3": phase3.checks,
    "failover": failover.checks,
    "cluster": cluster.checks,
    "mpls": mpls.checks,
    "keptout": keptout.checks,
    "scale": scale.checks,
}


def suite_for(design: Design) -> list[Check]:
    if design.scenario not in SUITES:
        raise LabkitError(f"no verification suite for scenario {design.scenario!r} yet; suites: {', '.join(SUITES)}")
    return SUITES[design.scenario](design)
