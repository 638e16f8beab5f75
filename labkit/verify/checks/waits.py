"""How long checks wait where their work grows with the lab: a fixed part (the design's timers, a command)
plus a share for each spoke the hub serves or each probe an attempt sends, so that a lab of 100 spokes gets
the time its size needs and a lab of 3 about what it always had."""

from __future__ import annotations

from labkit.design.model import Design

SPOKE_S = 2.0  # the hub brings up one more spoke: its IKE SA, registration and BGP session (TCG, 2 cores)
PROBE_S = 0.5  # one more probe in an attempt: a command or a ping of a few packets, several run at once


def per_spoke(design: Design, base_s: float) -> float:
    """A deadline for work that grows with the spokes the hub serves."""
    return base_s + SPOKE_S * len(design.spokes)


def per_probe(base_s: float, probes: int) -> float:
    """A deadline for an attempt that sends `probes` probes."""
    return base_s + PROBE_S * probes
