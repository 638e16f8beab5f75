"""A misconfigured spoke kept out, and let back in: a misconfiguration of the fault library applied to the
running spoke; the spoke shown absent from every hub's NHRP cache, BGP table and (as the fault implies) IPsec
SAs, its LAN unreachable both ways while a healthy spoke's answers (the positive control), nothing else
disturbed; then the design's configuration put back in place and the spoke shown to join within a deadline
derived from the design's timers (labkit.verify.deadlines)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Literal

from labkit.design.model import Design, Headquarters, Site
from labkit.plan import plan_design
from labkit.verify import deadlines
from labkit.verify.checks import ipsec, nhrp, paths, routing
from labkit.verify.checks.failover import Condition, spoke_back
from labkit.verify.engine import Check, CheckFailed, Context
from labkit.verify.state import UP

# What a misconfiguration leaves of IPsec between the spoke and a hub: `refused`, no IKE SA (a wrong key, an
# IKE proposal mismatch); `no-child`, at most an IKE SA without a CHILD SA (an ESP proposal mismatch); `up`, IKE
# and CHILD SAs as designed (a GRE key mismatch: IPsec does not see it)
IpsecLeft = Literal["refused", "no-child", "up"]
PINGS = 3


class NotKeptOut(CheckFailed):
    """The misconfigured spoke is (partly) in: what the kept-out checks guard against."""


def _hq(design: Design) -> Site | Headquarters:
    """The end that stands for headquarters: the HQ core router, or else the first hub."""
    return design.headquarters or design.hubs[0]


def _since_start(ctx: Context, observed: bool = False) -> float:
    """Seconds since the check's first attempt started; `observed`: leaving out what its looks waited for their
    turns on a shared machine (the lab was not looked at meanwhile)."""
    now = time.monotonic()
    unobserved = ctx.unobserved_s() - ctx.memory.setdefault("unobserved", ctx.unobserved_s()) if observed else 0.0
    return round(now - ctx.memory.setdefault("started", now) - unobserved, 1)


def applied(design: Design, spoke: Site, fault: str, title: str, alone: bool) -> Check:
    """The misconfiguration applied to the running spoke, in place (once: never retried); `alone`, after every
    earlier check and with none in flight."""

    def probe(ctx: Context) -> str:
        ctx.inject(spoke.name, fault)
        return f"{title} on {spoke.name}"

    return Check(f"keptout.{fault}.applied", f"{spoke.name} gets {title}, in place", (spoke.name,), probe,
                 deadline_s=0, attempt_s=deadlines.INJECT(design), alone=alone)


def restored(design: Design, spoke: Site, fault: str, follows: Sequence[Check]) -> Check:
    """The design's configuration put back on the spoke, in place (no restart), once the checks it `follows`
    (the misconfiguration's proofs) ended, whatever they found."""

    def probe(ctx: Context) -> str:
        ctx.inject(spoke.name, fault, step="restore")
        return f"{spoke.name} runs with the design's configuration again"

    return Check(f"keptout.{fault}.restored", f"{fault} undone on {spoke.name}, in place", (spoke.name,), probe,
                 deadline_s=0, attempt_s=deadlines.INJECT(design), follows=tuple(c.id for c in follows))


def _ipsec_problem(ctx: Context, node: Site, peer: Site, left: IpsecLeft) -> str | None:
    """How the IPsec state `node` holds with `peer` differs from what the misconfiguration leaves, if it does."""
    sas = [sa for sa in ctx.fact(node.name, "ike_sas") if sa.remote == peer.nbma]
    established = [sa for sa in sas if sa.state == UP]
    children = [c for sa in established for c in sa.children if c.state == UP]
    if left == "up":
        return None if children else f"{node.name}: no installed CHILD SA with {peer.name}, yet IPsec is not at fault"
    if children:
        return f"{node.name}: a CHILD SA with {peer.name} is installed ({children[0].name})"
    if left == "refused" and established:
        return f"{node.name}: an IKE SA with {peer.name} is established"
    return None


def _hub_problems(ctx: Context, hub: Site, spoke: Site, left: IpsecLeft) -> list[str]:
    """What `hub` still holds of `spoke`: NHRP cache entries, an Established BGP session, a route to its LAN,
    IPsec state other than the misconfiguration leaves."""
    problems = [f"{hub.name}: NHRP {e.kind} entry {e.protocol} -> {e.nbma}" for e in ctx.fact(hub.name, "nhrp_cache")
                if e.protocol == spoke.tunnel or e.nbma == spoke.nbma]
    peers = {p.neighbor: p.state for p in ctx.fact(hub.name, "bgp_peers")}
    if peers.get(spoke.tunnel) == UP:
        problems.append(f"{hub.name}: BGP with {spoke.name} Established")
    problems += [f"{hub.name}: route to {spoke.name}'s LAN {r.prefix} ({r.origin} via {r.nexthop})"
                 for r in ctx.fact(hub.name, "routes") if r.prefix == spoke.lan.network]
    return problems + [p for p in [_ipsec_problem(ctx, hub, spoke, left)] if p]


def _routed_at(ctx: Context, node: Site, spoke: Site) -> str | None:
    """A BGP route to the spoke's LAN that `node` (another spoke) holds, if it does."""
    routes = [r for r in ctx.fact(node.name, "routes") if r.prefix == spoke.lan.network and r.origin == "bgp"]
    return f"{node.name}: BGP route to {spoke.name}'s LAN via {routes[0].nexthop}" if routes else None


def _spoke_problems(ctx: Context, design: Design, spoke: Site, left: IpsecLeft) -> list[str]:
    """What the spoke itself shows: a registration with an NHS, IPsec state other than the fault leaves, and
    its tunnel interface down (every fault here leaves it up: the interface never tells)."""
    problems = [f"{spoke.name}: registered with NHS {n.nbma} ({n.protocol})" for n in ctx.fact(spoke.name, "nhrp_nhs")
                if n.protocol is not None]
    problems += [p for hub in design.nhs if (p := _ipsec_problem(ctx, spoke, hub, left))]
    links = ctx.fact(spoke.name, "link", interface="gre1")
    if not links or not links[0].up:
        problems.append(f"{spoke.name}: gre1 is not up ({links[0].flags if links else 'absent'})")
    return problems


def kept_out(design: Design, spoke: Site, fault: str, left: IpsecLeft) -> Check:
    """The misconfigured spoke is out of every hub's state (NHRP, BGP, its LAN's route, IPsec as the fault
    implies), registers with no NHS, and no other spoke holds a BGP route to its LAN; its gre1 stays up."""
    others = [s for s in design.spokes if s != spoke]
    within = deadlines.KEPT_OUT(design)

    def probe(ctx: Context) -> str:
        elapsed = _since_start(ctx, observed=True)
        problems = ctx.each(design.hubs, lambda h: "; ".join(_hub_problems(ctx, h, spoke, left)) or None)
        problems += ctx.each(others, lambda o: _routed_at(ctx, o, spoke))
        problems += _spoke_problems(ctx, design, spoke, left)
        if problems:
            raise NotKeptOut(f"{spoke.name} NOT KEPT OUT: {'; '.join(problems)}")
        ctx.measurements.update({"out_s": elapsed, "deadline_s": within,
                                 "bounded_by": dataclasses.asdict(deadlines.timers(design))})
        return (f"{spoke.name} out {elapsed}s after {fault}: in no hub's NHRP cache or BGP table, its LAN routed "
                f"nowhere, IPsec {left}, gre1 still up")

    return Check(f"keptout.{fault}.out", f"{spoke.name} is kept out: no registration, no routes, IPsec {left}",
                 (*(h.name for h in design.hubs), spoke.name), probe,
                 deadline_s=within, retry_every_s=3)


def unreachable(design: Design, spoke: Site, control: Site, fault: str) -> Check:
    """Traffic proves it too: the spoke's LAN and HQ's do not reach each other, while a healthy spoke's LAN and
    HQ's do at the same moment (the positive control: the probes can work). One answered packet of the kept-out
    spoke is a leak and stays a failure on every later attempt: retrying never waits a leak away."""
    hq = _hq(design)
    pings = [(spoke, hq, False), (hq, spoke, False), (control, hq, True), (hq, control, True)]

    def probe(ctx: Context) -> str:
        leaks: list[str] = ctx.memory.setdefault("leaks", [])

        def one(item: tuple) -> None:
            src, dst, answers = item
            result = ctx.fact(src.name, "ping", count=PINGS, interval=0.2, source=src.lan.ip, target=dst.lan.ip)
            received = result[0].received if result else 0
            if not answers and received:
                leaks.append(f"{src.name} -> {dst.name}: {received}/{PINGS} answered")
            elif answers and received < PINGS - 1:
                raise CheckFailed(f"positive control {src.name} -> {dst.name}: {received}/{PINGS} answered, so the "
                                  "kept-out spoke's silence proves nothing")

        try:
            if not leaks:
                ctx.each(pings, one)
        except CheckFailed:
            if not leaks:
                raise
        if leaks:  # a leak outweighs a failed control, on this attempt and every later one
            raise NotKeptOut(f"{spoke.name} NOT KEPT OUT, its traffic flows: {'; '.join(sorted(set(leaks)))}")
        return (f"{spoke.name} <-> {hq.name}: 0/{PINGS} answered both ways; control {control.name} <-> {hq.name} "
                "answered")

    return Check(f"keptout.{fault}.unreachable", f"{spoke.name}'s LAN and HQ's do not reach each other, a healthy "
                 "spoke's do", (spoke.name, control.name, hq.name), probe, deadline_s=deadlines.LOOK(design),
                 retry_every_s=3)


def undisturbed(design: Design, under_test: Sequence[Site], fault: str) -> Check:
    """Everything but the spokes under test (the kept-out one, and any other being misconfigured meanwhile) is
    as designed: every other spoke registered with every hub, their SAs, every BGP session between the others,
    every LAN of the others reaching every other."""
    rest = dataclasses.replace(design, spokes=tuple(s for s in design.spokes if s not in under_test))
    checks = [*(nhrp.hub_registrations(rest, h) for h in rest.hubs), ipsec.hub_spoke_sas(rest),
              routing.bgp_sessions(rest), paths.reachability(rest)]

    def probe(ctx: Context) -> str:
        return "; ".join(filter(None, (c.probe(ctx) for c in checks)))

    return Check(f"keptout.{fault}.others_undisturbed",
                 f"the lab without {', '.join(s.name for s in under_test)} is undisturbed",
                 tuple(n for n in rest.node_names if n != rest.transport.name), probe,
                 deadline_s=deadlines.TRAFFIC(design), retry_every_s=3)


def _joined(design: Design, spoke: Site) -> Condition:
    """The spoke is in: registered, peering and routed on every hub, SAs on both ends with each hub, traffic
    between its LAN and HQ's both ways."""
    routed = spoke_back(design, spoke)
    hq = _hq(design)

    def condition(ctx: Context) -> str:
        detail = routed(ctx)
        for hub in design.nhs:
            ipsec.installed_child(ctx, spoke, hub.nbma)
            ipsec.installed_child(ctx, hub, spoke.nbma)

        def ping(pair: tuple[Site, Site]) -> None:
            src, dst = pair
            result = ctx.fact(src.name, "ping", count=5, interval=0.2, source=src.lan.ip, target=dst.lan.ip)
            received = result[0].received if result else 0
            if received < 3:
                raise CheckFailed(f"{src.name} -> {dst.name}: {received}/5 answered")

        ctx.each([(spoke, hq), (hq, spoke)], ping)
        return f"{detail}; SAs with every hub; its LAN and {hq.name}'s answer each other"

    return condition


def joined(design: Design, spoke: Site, fault: str) -> Check:
    """After the restore the spoke joins again, within the deadline the design's timers give."""
    condition = _joined(design, spoke)
    within = deadlines.JOINED(design)

    def probe(ctx: Context) -> str:
        elapsed = _since_start(ctx, observed=True)
        detail = condition(ctx)
        ctx.measurements.update({"joined_s": elapsed, "deadline_s": within,
                                 "bounded_by": dataclasses.asdict(deadlines.timers(design))})
        return f"joined {elapsed}s after the restore: {detail}"

    return Check(f"keptout.{fault}.joined", f"{spoke.name} joins again once {fault} is undone",
                 (*(h.name for h in design.hubs), spoke.name), probe, deadline_s=within, retry_every_s=3)


def stays_in(design: Design, spoke: Site, control: Site, fault: str) -> Check:
    """A mismatch that by design keeps nothing out: one NHRP holdtime after it was applied (when the hub would
    have dropped a spoke whose renewals it refused) the spoke is still registered, peering, routed and passing
    traffic; and the kept-out checks, run on this state, fail: they do not pass on a spoke that is in."""
    hold = plan_design(design)[spoke.name].nhrp.holdtime
    condition = _joined(design, spoke)
    blind = [kept_out(design, spoke, fault, "refused"), unreachable(design, spoke, control, fault)]

    def probe(ctx: Context) -> str:
        time.sleep(max(0.0, hold - _since_start(ctx)))
        detail = condition(ctx)
        for check in blind:
            try:
                check.probe(Context(ctx.collector, ctx.evidence, until=ctx.until))
            except NotKeptOut:
                continue
            raise CheckFailed(f"{check.id} passes on {spoke.name}, which is in: that check proves nothing")
        return f"{hold}s after {fault}: {detail}; the kept-out checks fail on it, as they must"

    return Check(f"keptout.{fault}.stays_in", f"{spoke.name} stays in: {fault} keeps nothing out",
                 (*(h.name for h in design.hubs), spoke.name), probe,
                 deadline_s=hold + deadlines.COMMAND_MARGIN_S, retry_every_s=3)
