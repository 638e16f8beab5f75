"""Encryption, on every design (each has IPsec): ESP counters of a spoke's SA with its hub grow under traffic and the
transport router sees that traffic as ESP only, no cleartext GRE (a hub pair: the first hub; a cluster: its active
unit). Spoke-hub traffic touches no shortcut, so it runs alongside the story; the spoke-to-spoke capture is the
phase story's."""

from __future__ import annotations

from labkit.verify.checks import ipsec
from labkit.verify.engine import Check
from labkit.verify.schedule import after
from labkit.verify.suites.part import Part, Suite


def _checks(suite: Suite) -> list[Check]:
    design = suite.checked
    hub, src = design.hubs[0], design.spokes[0]
    return after(suite.base, ipsec.esp_counters_grow(design, src, hub), ipsec.transport_sees_only_esp(design, src, hub))


PART = Part("encryption: ESP under traffic, only ESP on the wire", "alongside", (), _checks)
