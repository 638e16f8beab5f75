"""The checks an exercise can name (`checks:` in exercise.yml): each a kind with named parameters (sites of the
design, or a VRF), built from the verification's own check factories (labkit.verify.checks) for the student's
design. A kind that does not fit the design (a shortcut in phase 1, a VRF without MPLS) is refused when the
exercise is loaded, like a wrong value in a design file."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from labkit.design.fields import Invalid
from labkit.design.model import Design, Site, Vrf
from labkit.verify import deadlines
from labkit.verify.checks import failover, ipsec, keptout, mpls, mtu, nhrp, paths, routing
from labkit.verify.engine import Check, CheckFailed, Context
from labkit.verify.suites.part import serving

ParamKind = Literal["spoke", "hub", "site", "vrf"]
PINGS = 5


@dataclass(frozen=True)
class CheckKind:
    what: str  # what a passing check shows, in a sentence
    params: tuple[tuple[str, ParamKind], ...]
    build: Callable[..., Check]  # (design, **resolved params) -> the check
    needs: Callable[[Design], str | None] = lambda design: None  # what the design lacks for it, if anything


def _only(design: Design, spoke: Site) -> Design:
    """The design as seen by checks about one spoke: the others left out."""
    return dataclasses.replace(design, spokes=(spoke,))


def combined(check_id: str, title: str, checks: list[Check]) -> Check:
    """One check made of several, run in order in each attempt; its deadline the longest of theirs."""

    def probe(ctx: Context) -> str:
        return "; ".join(filter(None, (c.probe(ctx) for c in checks)))

    return Check(check_id, title, tuple(dict.fromkeys(n for c in checks for n in c.nodes)), probe,
                 deadline_s=max(c.deadline_s for c in checks), retry_every_s=max(c.retry_every_s for c in checks))


def _registered(design: Design, spoke: Site) -> Check:
    only = _only(design, spoke)
    return combined("registered", f"{spoke.name} is registered with every hub",
                    [*(nhrp.hub_registrations(only, hub) for hub in only.hubs), nhrp.spokes_nhs(only)])


def _joined(design: Design, spoke: Site) -> Check:
    return dataclasses.replace(keptout.joined(design, spoke, "workshop"), title=f"{spoke.name} is in the cloud")


def _reachable(design: Design, src: Site, dst: Site) -> Check:
    """src's LAN and dst's answer each other's pings (a new shortcut may lose the first few)."""

    def probe(ctx: Context) -> str:
        def one(pair: tuple[Site, Site]) -> str:
            a, b = pair
            result = ctx.fact(a.name, "ping", count=PINGS, interval=0.2, source=a.lan.ip, target=b.lan.ip)
            received = result[0].received if result else 0
            if received < PINGS - 2:
                raise CheckFailed(f"{a.name} -> {b.name}: {received}/{PINGS} pings answered")
            return f"{a.name} -> {b.name}: {received}/{PINGS}"

        return "; ".join(ctx.each([(src, dst), (dst, src)], one))

    return Check("reachable", f"{src.name}'s LAN and {dst.name}'s reach each other", (src.name, dst.name), probe,
                 deadline_s=deadlines.SHORTCUT(design), retry_every_s=3)


def _direct(design: Design, src: Site, dst: Site) -> Check:
    """Traffic makes src reach dst's LAN directly: resolved on demand (phase 2) or redirected to a shortcut
    (phase 3), then one overlay hop."""
    resolved = (paths.shortcut_installed if design.phase == 3 else nhrp.tunnel_on_demand)(design, src, dst)
    return combined("direct", f"traffic from {src.name} to {dst.name}'s LAN goes direct",
                    [resolved, paths.direct_path(design, src, dst)])


def _shortcut_present(design: Design, src: Site, dst: Site) -> Check:
    return Check("shortcut_present", f"{src.name} holds a shortcut to {dst.name}'s LAN", (src.name,),
                 lambda ctx: paths.shortcut_routed(ctx, src, dst), deadline_s=deadlines.LOOK(design))


def _encrypted(design: Design, spoke: Site, hub: Site) -> Check:
    return combined("encrypted", f"traffic between {spoke.name} and {hub.name} is ESP, its counters grow",
                    [ipsec.esp_counters_grow(design, spoke, hub), ipsec.transport_sees_only_esp(design, spoke, hub)])


def _pmtud(design: Design, hub: Site, spoke: Site) -> Check:
    def probe(ctx: Context) -> str:  # learned now, not remembered from before (the hub keeps one for 10 minutes)
        ctx.inject(hub.name, "path_mtu_flushed")
        return mtu.learned_path_mtu(ctx, hub, spoke, design.overlay.mtu)

    return Check("pmtud", f"{hub.name} learns the path MTU to {spoke.name}'s LAN", (hub.name,), probe,
                 deadline_s=deadlines.PMTU(design))


def _condition(check_id: str, title: str, nodes: tuple[str, ...], condition: failover.Condition,
               deadline_s: float) -> Check:
    return Check(check_id, title, nodes, condition, deadline_s=deadline_s)


def _served_by(design: Design, hub: Site) -> Check:
    return _condition("served_by", f"spokes and HQ route through {hub.name}", tuple(s.name for s in design.spokes),
                      failover.served_by(design, hub), deadlines.HUB_DOWN(design))


def _cluster_serves(design: Design, unit: Site) -> Check:
    holds = failover.holds_shared_address(design, unit, others_alive=False)
    back = failover.hub_back(serving(design, unit), unit)
    return _condition("cluster_serves", f"{unit.name} holds the shared address and serves every spoke",
                      (unit.name,), lambda ctx: f"{holds(ctx)}; {back(ctx)}", deadlines.TAKEOVER(design))


def _phase(*phases: int) -> Callable[[Design], str | None]:
    return lambda design: None if design.phase in phases else \
        f"needs a phase {' or '.join(map(str, phases))} design, {design.origin} is phase {design.phase}"


def _mpls(design: Design) -> str | None:
    return None if design.mpls else f"needs a design with `mpls:`, {design.origin} has none"


def _bfd(design: Design) -> str | None:
    return None if design.routing.bfd else f"needs a design with `routing.bfd`, {design.origin} has none"


def _cluster(design: Design) -> str | None:
    return None if design.cluster else f"needs a design with `cluster:`, {design.origin} has none"


SPOKE = (("spoke", "spoke"),)
PAIR: tuple[tuple[str, ParamKind], ...] = (("from", "spoke"), ("to", "spoke"))

CHECKS: dict[str, CheckKind] = {
    "registered": CheckKind("the spoke is in every hub's NHRP cache and lists every hub as a registered NHS",
                            SPOKE, _registered),
    "ipsec_up": CheckKind("an IKE SA and a CHILD SA between the spoke and each hub, on both ends", SPOKE,
                          lambda design, spoke: ipsec.hub_spoke_sas(_only(design, spoke))),
    "bgp_up": CheckKind("the spoke's BGP sessions are Established", SPOKE,
                        lambda design, spoke: routing.bgp_sessions(_only(design, spoke))),
    "joined": CheckKind("the spoke is in: registered, peering and routed on every hub, SAs on both ends, its LAN "
                        "and HQ's answering each other", SPOKE,
                        _joined),
    "reachable": CheckKind("two sites' LANs answer each other's pings", (("from", "site"), ("to", "site")),
                           _reachable),
    "via_hub": CheckKind("traffic between two spokes' LANs crosses a hub (traceroute)", PAIR,
                         lambda design, src, dst: paths.path_via_hub(design, src, dst)),
    "direct": CheckKind("traffic makes the first spoke reach the second's LAN in one overlay hop", PAIR, _direct,
                        _phase(2, 3)),
    "shortcut_present": CheckKind("the first spoke routes the second's LAN over an NHRP shortcut (sends nothing)",
                                  PAIR, _shortcut_present, _phase(3)),
    "no_shortcut": CheckKind("the first spoke holds no shortcut to the second's LAN", PAIR,
                             lambda design, src, dst: nhrp.shortcut_absent(design, src, dst, clear_first=False),
                             _phase(3)),
    "spoke_spoke_sa": CheckKind("the two spokes have an IPsec SA of their own", PAIR,
                                lambda design, src, dst: ipsec.spoke_spoke_sa(design, src, dst), _phase(2, 3)),
    "encrypted": CheckKind("the spoke's traffic to the hub's LAN is counted on its SA and the transport sees only "
                           "ESP", (("spoke", "spoke"), ("hub", "hub")), _encrypted),
    "mtu_boundary": CheckKind("DF packets of the tunnel MTU cross hub-spoke and spoke-spoke, one byte more do not",
                              (), mtu.boundary),
    "mss_clamped": CheckKind("a host on the first spoke's LAN opens TCP to the hub's LAN with its SYN's MSS "
                             "clamped to the design's", (), mtu.mss_clamped),
    "pmtud": CheckKind("full-size DF packets from the hub to the spoke's LAN make the sender learn the path MTU, "
                       "and packets of that size cross", (("hub", "hub"), ("spoke", "spoke")), _pmtud),
    "served_by": CheckKind("every spoke (and the HQ core router) routes through the hub", (("hub", "hub"),),
                           _served_by),
    "bfd_up": CheckKind("a BFD session is up beside every BGP session", (), routing.bfd_sessions, _bfd),
    "cluster_serves": CheckKind("the cluster unit holds the shared address and every spoke is back with it",
                                (("unit", "hub"),), _cluster_serves, _cluster),
    "vrf_isolated": CheckKind("no VRF reaches another VRF or the global table, on any site", (), mpls.isolation,
                              _mpls),
    "vrf_reachable": CheckKind("every site reaches every other inside the VRF", (("vrf", "vrf"),),
                               mpls.vrf_reachability, _mpls),
}


def _resolved(design: Design, kind: ParamKind, value: Any) -> Site | Vrf:
    """The site or VRF a parameter names; Invalid with the choices if it names none of its kind."""
    if kind == "vrf":
        choices: dict[str, Any] = {v.name: v for v in design.mpls.vrfs} if design.mpls else {}
    else:
        sites = {"spoke": design.spokes, "hub": design.hubs, "site": design.sites}[kind]
        choices = {s.name: s for s in sites}
    if value not in choices:
        raise Invalid(f"{value!r} is not a {kind} of {design.origin}; use one of: {', '.join(choices) or 'none'}")
    return choices[value]


def build_check(design: Design, name: str, params: dict[str, Any]) -> Check:
    """The named check for `design` with its parameters, under the id `<name>[.<values>]`; Invalid naming what is
    unknown, missing or unfit."""
    kind = CHECKS.get(name)
    if kind is None:
        raise Invalid(f"unknown check {name!r}; checks: {', '.join(sorted(CHECKS))}")
    lacking = kind.needs(design)
    if lacking:
        raise Invalid(f"{name} {lacking}")
    wanted = dict(kind.params)
    unknown = sorted(set(params) - set(wanted))
    missing = [p for p in wanted if p not in params]
    if unknown or missing:
        raise Invalid(f"{name} takes {', '.join(wanted) or 'no parameters'}"
                      + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                      + (f"; missing: {', '.join(missing)}" if missing else ""))
    values = [_resolved(design, wanted[p], params[p]) for p in wanted]
    check = kind.build(design, *values)
    return dataclasses.replace(check, id=".".join([name, *(str(params[p]) for p in wanted)]), needs=())
