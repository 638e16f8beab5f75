"""Failover cases: inject a fault while continuous probes run, time the control plane's recovery, and hold
the traffic lost to the design's loss budget.

A case runs once (never retried: a retry would measure a different event). Its figures go to the report's
`timings` under the check id: `loss_ms` (the worst budgeted probe), per-probe loss and longest outage,
and `reconverge_s`, from the fault until the case's recovery condition holds. The condition is looked at every
half second plus the time its commands take (about once a second), so `reconverge_s` is as precise as that; a
case whose recovery takes minutes by design (rekeys) looks less often (`look_every_s`).

The probes run for the case's window (a deadline of the table: how long recovery may take); a case whose window only
bounds its recovery (`settle`) ends its probes once it recovered and a settling time passed (deadlines.SETTLE: what
the timers may still do after a recovery), instead of probing a recovered lab to the window's end. The precondition,
the probes, the fault and what is looked at while it holds form the case's measured window: where labs share a
machine, nothing heavy of another lab runs meanwhile (labkit.runtime.scheduler). Before it, every spoke's BGP
sessions that are up must have been up STEADY_S (`sessions_steady`): a lab whose sessions keep restarting is not
measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from labkit.design.model import Design, Failover, Site
from labkit.verify.checks.ipsec import installed_in
from labkit.verify.checks.nhrp import no_shortcut, shortcut_to
from labkit.verify.checks.paths import crosses_hub
from labkit.verify.checks.routing import best_bgp, through_hub
from labkit.verify.deadlines import (
    DURING,
    INJECT,
    LONG_OUTAGE,
    OUTAGE_RETURN,
    RESTORE,
    SETTLE,
    SHORTCUT,
    TRAFFIC,
    timers,
)
from labkit.verify.engine import Check, CheckFailed, Context
from labkit.verify.state import UP, ProbeResult

Condition = Callable[[Context], str]  # a detail when it holds; CheckFailed while it does not
TAIL_S = 1.0  # over the probe's last second at least TAIL_SHARE of the packets must be answered:
TAIL_SHARE = 0.8  # traffic flows again (a straggler or two at the very end is no outage)
# a probe ended early stops at once, replies to its last packets still on their way: those sent this shortly before
# the end and not answered are not counted as sent (a lab whose traffic stopped for longer still shows the loss)
IN_FLIGHT_MS = 500
LOOK_EVERY_S = 0.5  # a condition waited for is looked at again this long after a look that found it not holding
# before a fault, no spoke's BGP session came up within this long: several BFD detection times and keepalives, so a
# lab whose sessions keep restarting (peers too busy to answer in time) is not measured as if the fault did it
STEADY_S = 10


@dataclass(frozen=True)
class Probe:
    name: str
    src: Site
    target: IPv4Address
    budgeted: bool = True  # False for traffic whose loss is the fault itself (a restarting spoke)
    flows_again: bool = True  # False for traffic a known stand-in gap leaves black-holed while the fault holds


@dataclass(frozen=True)
class Fault:
    node: str
    kind: str  # a fault of labkit.render.faults
    params: dict = field(default_factory=dict)
    step: str = "apply"  # or "restore": the fault's own way back


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    faults: tuple[Fault, ...]
    recovered: Condition
    probes: tuple[Probe, ...]
    seconds: float  # how long the probes run: long enough to see the recovery (a deadline of the table)
    before: Condition | None = None  # must hold before the fault (e.g. a shortcut exists)
    undo: tuple[Fault, ...] = ()  # puts the lab back for the next case
    restored: Condition | None = None  # holds once the undo took effect
    during: Condition | None = None  # must hold soon after the recovery (deadlines.DURING), while the fault holds
    at_end: Condition | None = None  # must hold once the probes ended, the fault still holding (nothing flapped)
    budget: Failover | None = None  # the case's loss budget and probe interval, if not the design's `failover:`
    gap: str | None = None  # a known stand-in gap the case proves: `recovered` is then the gap showing
    timers: dict = field(default_factory=dict)  # the design's timers that bound this case, for the report
    settle: bool = False  # the window only bounds the recovery: the probes end SETTLE after it
    look_every_s: float = LOOK_EVERY_S  # the pause between looks at `recovered` (each look runs its commands)
    # its fault is left for the next case to end (a failed hub, until it returns): the window is kept for that case,
    # so that how long the fault lasts does not depend on other labs' steps queued between them
    leaves_fault: bool = False


def _run_probes(ctx: Context, probes: tuple[Probe, ...], seconds: float, interval_ms: int) -> None:
    for probe in probes:
        ctx.fact(probe.src.name, "probe_start", probe=probe.name, count=int(seconds * 1000 // interval_ms),
                 interval=interval_ms / 1000, source=probe.src.lan.ip, target=probe.target)


def _stop_probes(ctx: Context, probes: tuple[Probe, ...], interval_ms: int) -> dict[str, ProbeResult]:
    """Each probe ended now and read, the packets still in flight at its end not counted."""
    for probe in probes:
        ctx.fact(probe.src.name, "probe_stop", probe=probe.name)
    return {p.name: ctx.fact(p.src.name, "probe_result", probe=p.name)[0].ended_early(IN_FLIGHT_MS // interval_ms)
            for p in probes}


def _wait(ctx: Context, condition: Condition, limit_s: float,
          every_s: float = LOOK_EVERY_S) -> tuple[float | None, str]:
    """Seconds until `condition` held (None if it never did within `limit_s`) and its last word; looked at again
    `every_s` after each look that found it not holding. Time a look waited for its turn on a shared machine (a capture
    queued behind other labs' heavy steps and windows) is not counted: the lab was not looked at meanwhile."""
    started, unobserved = time.monotonic(), ctx.unobserved_s()

    def elapsed() -> float:
        return time.monotonic() - started - (ctx.unobserved_s() - unobserved)

    while True:
        try:
            return elapsed(), condition(ctx)
        except CheckFailed as exc:
            if elapsed() > limit_s:
                return None, str(exc)
            time.sleep(every_s)


def _look(ctx: Context, condition: Condition, limit_s: float) -> dict:
    """Whether `condition` holds within `limit_s`, looked at while the fault still holds."""
    took, word = _wait(ctx, condition, limit_s)
    return {"held": took is not None, "detail": word}


def failover_case(design: Design, case: Case, shared: dict | None = None) -> Check:
    failover = case.budget or design.failover
    budget, interval = failover.loss_budget_ms, failover.probe_interval_ms
    before_s, during_s, restore_s, inject_s = SHORTCUT(design), DURING(design), RESTORE(design), INJECT(design)
    settle_s = SETTLE(design) if case.settle else None
    steady = sessions_steady(design)

    def probe(ctx: Context) -> str:
        took, word = _wait(ctx, steady, before_s)  # looked at before the window: no other lab waits on it
        if took is None:
            raise CheckFailed(f"precondition not met, no fault injected: {word}")
        with ctx.window(case.id, keep=case.leaves_fault):
            took, word, during, results, at_end = _measured(ctx, case, interval, before_s, during_s, settle_s)
        reconverge = None if took is None else round(took, 1)
        figures = {name: {"loss_ms": r.lost * interval, "outage_ms": r.longest_gap() * interval,
                          "sent": r.sent, "answered": len(set(r.answered))} for name, r in results.items()}
        worst = max((figures[p.name]["loss_ms"] for p in case.probes if p.budgeted), default=0)
        ctx.measurements.update({"loss_ms": worst, "budget_ms": budget, "reconverge_s": reconverge,
                                 **({"stand_in_gap": case.gap} if case.gap else {}),
                                 "probes": figures} | ({"during": during} if during else {})
                                | ({"at_end": at_end} if at_end else {})
                                | ({"bounded_by": case.timers} if case.timers else {})
                                | ({"settle_s": settle_s} if settle_s is not None else {}))
        if shared is not None:
            shared[case.id] = ctx.measurements
        problems = []
        if took is None and case.gap:
            problems.append(f"the stand-ins' known gap did not show within {case.seconds}s ({word}); if they now "
                            "do what DMVPN should, drop the case's stand_in_gap (labkit/data/cases.yml)")
        elif took is None:
            problems.append(f"not recovered within {case.seconds}s: {word}")
        if at_end and not at_end["held"]:
            problems.append(f"once the probes ended: {at_end['detail']}")
        for p in case.probes:
            if p.flows_again and results[p.name].tail_answered(int(TAIL_S * 1000 / interval)) < TAIL_SHARE:
                problems.append(f"{p.name}: traffic not flowing at the end of the probe")
            elif p.budgeted and figures[p.name]["loss_ms"] > budget:
                problems.append(f"{p.name}: lost {figures[p.name]['loss_ms']} ms of traffic, budget {budget} ms")
        _put_back(ctx, case, problems, restore_s)
        lost = ", ".join(f"{n} {f['loss_ms']} ms" for n, f in figures.items())
        if problems:
            raise CheckFailed(f"{'; '.join(problems)} (lost: {lost}; reconverged "
                              f"{'never' if reconverge is None else f'in {reconverge}s'})")
        if case.gap:
            return f"stand-in gap shown {reconverge}s after the fault: {word}; lost {lost}"
        return f"lost {lost}; reconverged in {reconverge}s: {word}"

    return Check(case.id, case.title, tuple(sorted({p.src.name for p in case.probes} | {f.node for f in case.faults})),
                 probe, deadline_s=0, alone=True,  # a fault disturbs every other check, and they its probes
                 attempt_s=before_s + case.seconds + 2 * during_s + restore_s
                 + inject_s * (len(case.faults) + len(case.undo)))


def _measured(ctx: Context, case: Case, interval: int, before_s: float, during_s: float, settle_s: float | None):
    """The measured window: the precondition, the probes started, the fault, the recovery waited for (and the
    settling time after it), what holds while the fault holds; returns the seconds from the fault to the recovery
    (None if it never came) and the condition's last word, the `during` look, the probes' results and the
    `at_end` look."""
    if case.before:
        took, word = _wait(ctx, case.before, before_s)
        if took is None:
            raise CheckFailed(f"precondition not met, no fault injected: {word}")
    _run_probes(ctx, case.probes, case.seconds, interval)
    probes_end = time.monotonic() + case.seconds
    time.sleep(2)  # a baseline before the fault
    started = time.monotonic()
    for fault in case.faults:
        ctx.inject(fault.node, fault.kind, fault.step, **fault.params)
    injected = time.monotonic() - started
    took, word = _wait(ctx, case.recovered, case.seconds - injected, case.look_every_s)
    took = None if took is None else injected + took
    during = _look(ctx, case.during, during_s) if case.during and took is not None else None
    if settle_s is not None and took is not None and started + took + settle_s < probes_end:
        time.sleep(max(0.0, started + took + settle_s - time.monotonic()))
        results = _stop_probes(ctx, case.probes, interval)
    else:
        results = {p.name: ctx.fact(p.src.name, "probe_result", timeout=case.seconds + 60, probe=p.name)[0]
                   for p in case.probes}
    at_end = _look(ctx, case.at_end, during_s) if case.at_end else None
    return took, word, during, results, at_end


def sessions_steady(design: Design) -> Condition:
    """No spoke's BGP session came up within the last STEADY_S: the lab holds still before a fault, so that what the
    probes lose is the fault's doing (a session restarting meanwhile takes routes away by itself). A session that is
    down is left to the case (a failed hub's, before it returns); one caught down while flapping is not seen."""
    bfd = design.routing.bfd
    why = (f" (BFD {bfd.interval_ms} ms x {bfd.multiplier} ends a session whose peer does not answer within "
           f"{bfd.detect_ms} ms: a node too busy to answer in time, as emulated nodes are under load, restarts it)"
           if bfd else "")

    def condition(ctx: Context) -> str:
        def one(spoke: Site) -> None:
            peers = {p.neighbor: p for p in ctx.fact(spoke.name, "bgp_peers")}
            for hub, address in design.bgp_neighbors(spoke.name):
                peer = peers.get(address)
                if peer and peer.uptime_s is not None and peer.uptime_s < STEADY_S:
                    raise CheckFailed(f"{spoke.name}: BGP with {hub} up {peer.uptime_s} s, less than {STEADY_S} s: "
                                      f"the session restarted{why}")

        ctx.each(design.spokes, one)
        return f"no spoke's BGP session came up within the last {STEADY_S} s"

    return condition


def _put_back(ctx: Context, case: Case, problems: list[str], restore_s: float) -> None:
    """Undo the fault and wait until the lab is back, so the next case starts from the designed state."""
    for fault in case.undo:
        ctx.inject(fault.node, fault.kind, fault.step, **fault.params)
    if case.restored:
        took, word = _wait(ctx, case.restored, restore_s)
        if took is None:
            problems.append(f"lab not back to the designed state after the case: {word}")
        else:
            ctx.measurements["restored_s"] = round(took, 1)


def long_outage(design: Design, hub: Site, link: str = "eth1") -> Check:
    """The hub unreachable (its WAN link down) for longer than every retry its spokes make by themselves
    (deadlines.LONG_OUTAGE), then back: every spoke has given its SA with the hub up by the end of the outage, and
    is back with the hub (registered, BGP Established, traffic via it) within deadlines.OUTAGE_RETURN. Not a
    measured window: no traffic loss is measured, and what it times is minutes long. Its figures: `outage_s`,
    `back_s` (from the link's return until every spoke was back) and `deadline_s`."""
    outage_s, back_s, restore_s = LONG_OUTAGE(design), OUTAGE_RETURN(design), RESTORE(design)
    during_s = DURING(design)  # asked for here, as the check is built: `labkit suite` lists what a suite asks for
    back, given_up = hub_back(design, hub), gave_up(design, hub)
    t = timers(design)

    def probe(ctx: Context) -> str:
        took, word = _wait(ctx, back, restore_s)
        if took is None:
            raise CheckFailed(f"precondition not met, no fault injected: {word}")
        ctx.inject(hub.name, "link_down", interface=link)
        down = time.monotonic()
        try:
            time.sleep(max(0.0, down + outage_s - during_s - time.monotonic()))
            gone = _look(ctx, given_up, during_s)
            time.sleep(max(0.0, down + outage_s - time.monotonic()))
            ctx.measurements["outage_s"] = round(time.monotonic() - down, 1)
        finally:
            ctx.inject(hub.name, "link_up", interface=link)
        took, word = _wait(ctx, back, back_s)
        ctx.measurements.update({"back_s": None if took is None else round(took, 1), "deadline_s": back_s,
                                 "bounded_by": {"dpd_s": t.dpd_s, "ike_give_up_s": t.ike_give_up_s,
                                                "rejoin_s": round(t.rejoin_s, 1)}})
        if not gone["held"]:
            raise CheckFailed(f"by the end of the {outage_s:g}s outage: {gone['detail']}")
        if took is None:
            raise CheckFailed(f"not every spoke back with {hub.name} within {back_s:g}s of its return: {word}")
        return f"every spoke back with {hub.name} {took:.1f}s after a {outage_s:g}s outage (deadline {back_s:g}s)"

    return Check("failover.long_outage", f"{hub.name} unreachable longer than every retry of its spokes, then back",
                 (hub.name, *(s.name for s in design.spokes)), probe, deadline_s=0, alone=True,
                 attempt_s=restore_s + outage_s + back_s + 2 * INJECT(design))


def gave_up(design: Design, hub: Site) -> Condition:
    """No spoke holds an established IKE SA with the (unreachable) hub: each gave it up."""

    def condition(ctx: Context) -> str:
        def one(spoke: Site) -> None:
            if any(sa.remote == hub.nbma and sa.state == UP for sa in ctx.fact(spoke.name, "ike_sas")):
                raise CheckFailed(f"{spoke.name} still holds an established IKE SA with {hub.name}")

        ctx.each(design.spokes, one)
        return f"every spoke gave its SA with {hub.name} up"

    return condition


def _best(ctx: Context, node: str, address: IPv4Address):
    """The selected BGP route a node would use for `address` (longest match), or None."""
    return best_bgp(ctx.fact(node, "routes"), address)


def served_by(design: Design, hub: Site, hq_too: bool = True) -> Condition:
    """Traffic between spokes and HQ flows through `hub`: every spoke's best route to the HQ LAN points at
    it and, with `hq_too`, so does the HQ core router's best route to each spoke LAN. (With only its WAN
    link down, a hub still takes HQ's traffic and passes it on to the other hub: then `hq_too=False`.)"""
    hq = design.headquarters if hq_too else None
    hub_tunnels = {h.tunnel for h in design.hubs}

    def condition(ctx: Context) -> str:
        def spoke(s: Site) -> None:
            routes = ctx.fact(s.name, "routes")
            route = best_bgp(routes, design.hq_lan.ip)
            if route is None or through_hub(routes, route.nexthop, hub_tunnels,
                                            design.overlay.tunnel_network) != hub.tunnel:
                raise CheckFailed(f"{s.name}: HQ LAN via {route.nexthop if route else 'nothing'}, not {hub.name}")

        ctx.each(design.spokes, spoke)
        if hq:
            for s in design.spokes:
                route = _best(ctx, hq.name, s.lan.ip)
                if route is None or route.nexthop != hub.lan.ip:
                    raise CheckFailed(f"{hq.name}: {s.name}'s LAN via {route.nexthop if route else 'nothing'}, "
                                      f"not {hub.name}")
            return f"spokes and {hq.name} route through {hub.name}"
        return f"spokes route to HQ through {hub.name}"

    return condition


def _bgp_with_spokes(ctx: Context, design: Design, hub: Site) -> None:
    peers = {p.neighbor: p.state for p in ctx.fact(hub.name, "bgp_peers")}
    down = [s.name for s in design.spokes if peers.get(s.tunnel) != UP]
    if down:
        raise CheckFailed(f"{hub.name}: BGP not Established with {', '.join(down)}")


def hub_back(design: Design, hub: Site) -> Condition:
    """The hub serves again: every spoke registered with it and its BGP session Established, traffic via it."""
    via = served_by(design, hub)

    def condition(ctx: Context) -> str:
        dynamic = {e.protocol for e in ctx.fact(hub.name, "nhrp_cache") if e.kind == "dynamic"}
        missing = [s.name for s in design.spokes if s.tunnel not in dynamic]
        if missing:
            raise CheckFailed(f"{hub.name}: not registered yet: {', '.join(missing)}")
        _bgp_with_spokes(ctx, design, hub)
        return f"{hub.name}: every spoke registered, BGP Established; {via(ctx)}"

    return condition


def spoke_back(design: Design, spoke: Site) -> Condition:
    """A restarted spoke is registered with every hub, peers with each, and its LAN is routed again."""

    def condition(ctx: Context) -> str:
        def one(hub: Site) -> None:
            if not any(e.protocol == spoke.tunnel and e.kind == "dynamic" for e in ctx.fact(hub.name, "nhrp_cache")):
                raise CheckFailed(f"{spoke.name} not registered with {hub.name}")
            peers = {p.neighbor: p.state for p in ctx.fact(hub.name, "bgp_peers")}
            if peers.get(spoke.tunnel) != UP:
                seen = {p.neighbor: p.state for p in ctx.fact(spoke.name, "bgp_peers")}.get(hub.tunnel, "absent")
                raise CheckFailed(f"{hub.name}: BGP with {spoke.name} is {peers.get(spoke.tunnel, 'absent')} "
                                  f"({spoke.name}'s side: {seen})")
            if _best(ctx, hub.name, spoke.lan.ip) is None:
                raise CheckFailed(f"{hub.name}: no route to {spoke.name}'s LAN yet")

        ctx.each(design.hubs, one)
        return f"{spoke.name} registered and peering with {len(design.hubs)} hubs, its LAN routed"

    return condition


def hub_sas_back(design: Design, hub: Site) -> Condition:
    """After strongSwan restarted on the hub: an SA with every spoke again, and BGP over it."""

    def condition(ctx: Context) -> str:
        sas = ctx.fact(hub.name, "ike_sas")
        for spoke in design.spokes:
            installed_in(sas, hub, spoke.nbma)
        _bgp_with_spokes(ctx, design, hub)
        return f"{hub.name}: SAs with {len(design.spokes)} spokes re-established, BGP Established"

    return condition


def shortcut_up(src: Site, dst: Site) -> Condition:
    """Traffic from src to dst's LAN runs over a shortcut (built by sending some)."""

    def condition(ctx: Context) -> str:
        ctx.fact(src.name, "ping", count=5, interval=0.2, source=src.lan.ip, target=dst.lan.ip)
        if not shortcut_to(ctx, src, dst.lan.network):
            raise CheckFailed(f"{src.name}: no shortcut to {dst.lan.network}")
        return f"{src.name} has a shortcut to {dst.name}'s LAN"

    return condition


def fresh_shortcut(src: Site, dst: Site) -> Condition:
    """A shortcut from src to dst's LAN built just now: src's shortcuts cleared once, then traffic builds a new
    one. One the story left behind may be near the end of its holding time; refreshed while a hub is down, it
    can lapse (seen once in CI: `failover.shortcut_survives` found the shortcut gone while traffic flowed)."""
    built = shortcut_up(src, dst)

    def condition(ctx: Context) -> str:
        if not ctx.memory.get("shortcuts_cleared"):
            ctx.fact(src.name, "clear_shortcuts")
            ctx.memory["shortcuts_cleared"] = True
        return f"{built(ctx)}, built just now"

    return condition


def still_direct(src: Site, dst: Site) -> Condition:
    """The shortcut is still listed and traffic to dst's LAN still takes one overlay hop."""

    def condition(ctx: Context) -> str:
        if not shortcut_to(ctx, src, dst.lan.network):
            raise CheckFailed(f"{src.name}: the shortcut to {dst.lan.network} is gone")
        hops = ctx.fact(src.name, "traceroute", timeout=60, source=src.lan.ip, target=dst.lan.ip)
        if [h.address for h in hops] != [dst.lan.ip]:
            raise CheckFailed(f"{src.name} -> {dst.name} is no longer direct: {[str(h.address) for h in hops]}")
        return f"{src.name} -> {dst.name} still one overlay hop over its shortcut"

    return condition


def flowing_over_shortcut(src: Site, dst: Site) -> Condition:
    """Traffic from src to dst's LAN runs over a shortcut and every packet of a burst is answered."""
    listed = shortcut_up(src, dst)

    def condition(ctx: Context) -> str:
        detail = listed(ctx)
        [result] = ctx.fact(src.name, "ping", count=5, interval=0.2, source=src.lan.ip, target=dst.lan.ip)
        if result.received < result.sent:
            raise CheckFailed(f"{src.name} -> {dst.name}: {result.received}/{result.sent} answered over the shortcut")
        return f"{detail}, all {result.sent} pings answered"

    return condition


def black_holed_shortcut(src: Site, dst: Site) -> Condition:
    """src lists a shortcut to dst's LAN, yet its pings there go unanswered: traffic sent over a direct path
    that does not work."""

    def condition(ctx: Context) -> str:
        if not shortcut_to(ctx, src, dst.lan.network):
            raise CheckFailed(f"{src.name}: no shortcut to {dst.lan.network}")
        [result] = ctx.fact(src.name, "ping", count=3, interval=0.2, source=src.lan.ip, target=dst.lan.ip)
        if result.received:
            raise CheckFailed(f"{src.name} -> {dst.name}: {result.received}/{result.sent} answered")
        return f"{src.name} lists a shortcut to {dst.lan.network}, and its pings there go unanswered"

    return condition


def no_shortcuts(a: Site, b: Site) -> Condition:
    """Neither spoke lists a shortcut to the other's LAN."""

    def condition(ctx: Context) -> str:
        return f"{no_shortcut(ctx, a, b)}; {no_shortcut(ctx, b, a)}"

    return condition


def on_hub_path(design: Design, src: Site, dst: Site) -> Condition:
    """Traffic from src to dst's LAN takes the hub path: no shortcut listed, two overlay hops through a hub."""

    def condition(ctx: Context) -> str:
        return f"{no_shortcut(ctx, src, dst)}; {crosses_hub(ctx, design, src, dst)}"

    return condition


def shortcut_survived(case_id: str, probe: Probe, shared: dict) -> Check:
    """An established spoke-to-spoke shortcut kept forwarding through a hub failure: the probe that ran
    across that failure lost (almost) nothing, and once the lab had reconverged, with the hub still down,
    the shortcut was still there and the path still direct. Same event as the hub failure case, so its
    `reconverge_s` is that case's."""

    def check(ctx: Context) -> str:
        measured = shared.get(case_id)
        if not measured or "during" not in measured:
            raise CheckFailed(f"{case_id} did not run to its end, nothing was measured")
        figures = measured["probes"][probe.name]
        ctx.measurements.update({"loss_ms": figures["loss_ms"], "budget_ms": measured["budget_ms"],
                                 "reconverge_s": measured["reconverge_s"], "measured_in": case_id,
                                 "probes": {probe.name: figures}})
        if not measured["during"]["held"]:
            raise CheckFailed(f"while the hub was down: {measured['during']['detail']}")
        if figures["loss_ms"] > measured["budget_ms"]:
            raise CheckFailed(f"{probe.name} lost {figures['loss_ms']} ms while the hub failed "
                              f"(budget {measured['budget_ms']} ms)")
        return f"{probe.name} lost {figures['loss_ms']} ms across the hub failure; {measured['during']['detail']}"

    return Check("failover.shortcut_survives", f"an established shortcut {probe.name} keeps forwarding while "
                 "the hub is down", (probe.src.name,), check, deadline_s=0)


def preferred(design: Design, hub: Site) -> Check:
    """Before any fault: traffic between spokes and HQ flows through the preferred hub."""
    condition = served_by(design, hub)
    return Check(f"failover.preferred.{hub.name}", f"before any fault, traffic flows through {hub.name}",
                 tuple(s.name for s in design.spokes), condition, deadline_s=TRAFFIC(design))


def holds_shared_address(design: Design, unit: Site, others_alive: bool = True) -> Condition:
    """A cluster unit holds the shared WAN (NBMA) address; while the other units run, none of them does.
    (A unit that failed hard may keep the address on its dead, downed port: nobody reaches it there.)"""
    vip = design.cluster.vip
    units = [h for h in design.hubs if others_alive or h == unit]

    def condition(ctx: Context) -> str:
        def one(hub: Site) -> None:
            has = any(a.address.ip == vip for a in ctx.fact(hub.name, "addresses", interface="eth1"))
            if has != (hub == unit):
                raise CheckFailed(f"{hub.name} {'holds' if has else 'does not hold'} the shared address {vip}")

        ctx.each(units, one)
        return f"{unit.name} holds the shared address {vip}"

    return condition
