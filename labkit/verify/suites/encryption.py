"""Encryption beside the story of a single plain hub: ESP counters of a spoke's SA with the hub grow under
traffic (in a lab small enough for the full mesh) and the transport router sees ESP and no cleartext GRE.
Spoke-hub traffic touches no shortcut, so it runs alongside. (MPLS proves ESP with its labelled traffic; a hub
pair's and a cluster's suites are about failover.)"""

from __future__ import annotations

from labkit.verify.checks import ipsec, paths
from labkit.verify.engine import Check
from labkit.verify.schedule import after
from labkit.verify.suites.part import Part, Suite, one_plain_hub


def _checks(suite: Suite) -> list[Check]:
    design = suite.checked
    hub, src = design.hubs[0], design.spokes[0]
    counters = [ipsec.esp_counters_grow(design, src, hub)] if paths.full_mesh(design) else []
    return after(suite.base, *counters, ipsec.transport_sees_only_esp(design, src, hub))


PART = Part("encryption: ESP under traffic, only ESP on the wire", "alongside", one_plain_hub, _checks)
