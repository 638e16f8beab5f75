"""Active/Standby hub cluster: the active unit holds the shared NBMA address and serves every spoke; it
fails hard; the standby takes the address, the spokes re-register with it and traffic flows again. The
loss and the time until then are measured with the failover probes; the checks of a single hub run
against whichever unit is active (the design seen with that unit as its only hub)."""

from __future__ import annotations

import dataclasses

from labkit.design.model import Design, Site
from labkit.verify.checks import failover, ipsec, nhrp, paths
from labkit.verify.checks.failover import Case, Fault, Probe
from labkit.verify.engine import Check, Context
from labkit.verify.schedule import after
from labkit.verify.suites import baseline


def _serving(design: Design, unit: Site) -> Design:
    return dataclasses.replace(design, hubs=(unit,))


def _all(*conditions: failover.Condition) -> failover.Condition:
    def condition(ctx: Context) -> str:
        return "; ".join(c(ctx) for c in conditions)

    return condition


def checks(design: Design) -> list[Check]:
    active, standby = design.hubs
    on_active, on_standby = _serving(design, active), _serving(design, standby)
    s1, s2, s3 = design.spokes[0], design.spokes[1], design.spokes[2]
    vip_on_active = failover.holds_shared_address(design, active)
    takeover = Case(
        "cluster.active_fails", f"the active unit {active.name} fails hard; {standby.name} takes over",
        (Fault(active.name, "node_fail"),),
        _all(failover.holds_shared_address(design, standby, others_alive=False),
             failover.hub_back(on_standby, standby)),
        (Probe(f"{s1.name}-hq", s1, design.hq_lan.ip), Probe(f"{s2.name}-{s3.name}", s2, s3.lan.ip)),
        seconds=150,
        timers={"vrrp_advert_ms": design.cluster.advert_ms, "dpd_interval_s": design.ipsec.dpd_interval,
                "ike_retransmits": "2 + 2.8 + 3.9 + 5.5 s before a silent peer is given up (strongswan.conf)",
                "nhrp_registration_s": design.overlay.holdtime // 3, "bfd_detect_ms": design.routing.bfd.detect_ms
                if design.routing.bfd else None},
    )
    vrrp = Check("cluster.vrrp", f"{active.name} holds the shared NBMA address {design.cluster.vip}, "
                 f"{standby.name} stands by", (active.name, standby.name), vip_on_active, deadline_s=60)
    base = [vrrp, *baseline.established(on_active)]
    mesh = after(base, paths.reachability(on_active))
    # the takeover runs alone; what follows it runs whatever its measurement said
    return [
        *base,
        *mesh,
        *after(mesh, failover.failover_case(on_standby, takeover)),
        _after_takeover(nhrp.hub_registrations(on_standby, standby)),
        _after_takeover(ipsec.hub_spoke_sas(on_standby)),
        _after_takeover(paths.reachability(on_standby)),
    ]


def _after_takeover(check: Check) -> Check:
    """The same check once the standby serves, under its own id."""
    return dataclasses.replace(check, id=f"{check.id}.after_takeover", title=f"after the takeover: {check.title}",
                               converge=False)

