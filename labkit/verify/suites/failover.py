"""Hub failover, in a design with a hub pair: the lab in its designed state with traffic through the preferred
hub, then one fault after another, each measured with two continuous probes (a spoke LAN to the HQ LAN, a spoke
LAN to another spoke's LAN): hub1's WAN link down and up; hub1 down hard; a shortcut riding through that; hub1
back; a spoke restart; IPsec restarted on hub1; then hub1 unreachable longer than every retry its spokes make
by themselves, and back (timed, not a measured window). Every case ends with the lab back in its designed state."""

from __future__ import annotations

from labkit.verify import deadlines
from labkit.verify.checks import failover, paths
from labkit.verify.checks.failover import Case, Fault, Probe
from labkit.verify.engine import Check
from labkit.verify.schedule import after
from labkit.verify.suites.part import Part, Suite, hub_pair, measured


def _story(suite: Suite) -> list[Check]:
    """Every LAN reaches every other, and traffic flows through the preferred hub before any fault."""
    design = suite.design
    return [paths.reachability(design), failover.preferred(design, design.hubs[0])]


def _cases(suite: Suite) -> list[Check]:
    design = suite.design
    hub, backup = design.hubs[0], design.hubs[1]
    s1, s2, s3 = design.spokes[0], design.spokes[1], design.spokes[2]
    to_hq = Probe(f"{s1.name}-hq", s1, design.hq_lan.ip)
    across = Probe(f"{s2.name}-{s3.name}", s2, s3.lan.ip)
    to_restarted = Probe(f"{s2.name}-{s3.name}", s2, s3.lan.ip, budgeted=False)
    on_backup = failover.served_by(design, backup)
    hub_back = failover.hub_back(design, hub)
    shared: dict = {}
    cases = [
        Case("failover.wan_down", f"{hub.name}'s WAN link goes down, the node stays up",
             (Fault(hub.name, "link_down", {"interface": "eth1"}),), failover.served_by(design, backup, hq_too=False),
             (to_hq, across), seconds=deadlines.HUB_DOWN(design),
             undo=(Fault(hub.name, "link_up", {"interface": "eth1"}),), restored=hub_back),
        Case("failover.hub_fail", f"{hub.name} fails hard: its processes stop, its links go down",
             (Fault(hub.name, "node_fail"),), on_backup, (to_hq, across), seconds=deadlines.HUB_DOWN(design),
             before=failover.fresh_shortcut(s2, s3), during=failover.still_direct(s2, s3), leaves_fault=True),
        Case("failover.hub_return", f"{hub.name} comes back: spokes re-register and traffic returns to it",
             (Fault(hub.name, "node_start"),), hub_back, (to_hq, across),
             seconds=deadlines.HUB_RETURN(design), settle=True),
        Case("failover.spoke_restart", f"{s3.name} restarts: it re-registers with both hubs, its routes return",
             (Fault(s3.name, "node_fail"), Fault(s3.name, "node_start")), failover.spoke_back(design, s3),
             (to_hq, to_restarted), seconds=deadlines.SPOKE_RESTART(design), settle=True),
        Case("failover.ipsec_restart", f"IPsec restarts on {hub.name}: its SAs are re-established",
             (Fault(hub.name, "ipsec_restart"),), failover.hub_sas_back(design, hub), (to_hq, across),
             seconds=deadlines.SAS_RESTART(design), restored=hub_back, settle=True),
    ]
    measured_cases = [failover.failover_case(design, case, shared) for case in cases]
    # each fault case runs alone, in order; one case failing does not block the next (each restores the lab)
    return [
        *after(suite.ready, measured_cases[0], measured_cases[1]),
        *after(measured_cases[1:2], failover.shortcut_survived("failover.hub_fail", across, shared)),
        *after(suite.ready, *measured_cases[2:], failover.long_outage(design, hub)),
    ]


STORY = Part("hub pair: reachability, traffic through the preferred hub", "story", (hub_pair,), _story)
CASES = Part("hub pair failover: WAN down, hub failure, return, spoke restart, IPsec restart, a long outage",
             "faults",
             (hub_pair, measured), _cases)
