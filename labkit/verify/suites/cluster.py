"""Active/Standby hub cluster: the active unit holds the shared NBMA address and serves every spoke (the checks
of a single hub run against it: the design seen with that unit as its only hub); it fails hard; the standby
takes the address, the spokes re-register with it and traffic flows again. The loss and the time until then
are measured with the failover probes."""

from __future__ import annotations

import dataclasses

from labkit.plan import plan_design
from labkit.verify import deadlines
from labkit.verify.checks import failover, ipsec, nhrp, paths
from labkit.verify.checks.failover import Case, Fault, Probe
from labkit.verify.engine import Check, Context
from labkit.verify.schedule import after
from labkit.verify.suites.part import Part, Suite, clustered, measured, serving


def _all(*conditions: failover.Condition) -> failover.Condition:
    def condition(ctx: Context) -> str:
        return "; ".join(c(ctx) for c in conditions)

    return condition


def _vrrp(suite: Suite) -> list[Check]:
    design = suite.design
    active, standby = design.hubs
    return [Check("cluster.vrrp", f"{active.name} holds the shared NBMA address {design.cluster.vip}, "
                  f"{standby.name} stands by", (active.name, standby.name),
                  failover.holds_shared_address(design, active), deadline_s=deadlines.VRRP(design))]


def _takeover(suite: Suite) -> list[Check]:
    """The takeover runs alone; what follows it runs whatever its measurement said."""
    design = suite.design
    active, standby = design.hubs
    on_standby = serving(design, standby)
    s1, s2, s3 = design.spokes[0], design.spokes[1], design.spokes[2]
    planned = plan_design(design)[s1.name]  # the timers as the plan decided them
    retransmit = planned.stand_in.ike_retransmit
    takeover = Case(
        "cluster.active_fails", f"the active unit {active.name} fails hard; {standby.name} takes over",
        (Fault(active.name, "node_fail"),),
        _all(failover.holds_shared_address(design, standby, others_alive=False),
             failover.hub_back(on_standby, standby)),
        (Probe(f"{s1.name}-hq", s1, design.hq_lan.ip), Probe(f"{s2.name}-{s3.name}", s2, s3.lan.ip)),
        seconds=deadlines.TAKEOVER(design), settle=True,
        timers={"vrrp_advert_ms": design.cluster.advert_ms, "dpd_interval_s": design.ipsec.dpd_interval,
                "ike_retransmits": f"{retransmit.described} before a silent peer is given up (the stand-in's)",
                "nhrp_registration_s": planned.nhrp.refresh_s, "bfd_detect_ms": design.routing.bfd.detect_ms
                if design.routing.bfd else None},
    )
    return [
        *after(suite.ready, failover.failover_case(on_standby, takeover)),
        _after_takeover(nhrp.hub_registrations(on_standby, standby)),
        _after_takeover(ipsec.hub_spoke_sas(on_standby)),
        _after_takeover(paths.reachability(on_standby)),
    ]


def _after_takeover(check: Check) -> Check:
    """The same check once the standby serves, under its own id."""
    return dataclasses.replace(check, id=f"{check.id}.after_takeover", title=f"after the takeover: {check.title}",
                               converge=False)


VRRP = Part("hub cluster: the active unit holds the shared address", "established", (clustered,), _vrrp)
TAKEOVER = Part("hub cluster takeover: the active unit fails, the standby serves", "faults", (clustered, measured),
                _takeover)
