"""Edge cases a design asks to be proven (its `cases:` list, labkit/data/cases.yml), after the story, each
alone and each putting the lab back:

- `mtu`: the tunnel MTU boundary from the first spoke to the first hub and to the second spoke; a host on the first
  spoke's LAN opening a TCP connection to the hub's LAN, its SYN's MSS clamped on the way;
- `pmtud`: the second spoke's access link narrowed, the first hub learning the path MTU to it; the third
  spoke's narrowed with "fragmentation needed" filtered on the transport: the black hole;
- `rekey`: with the first spoke's traffic to the hub LAN and the second's to the third's (over their shortcut)
  probed, the SAs of both pairs rekeyed twice (new inbound SPIs), the loss held to the case's budget;
- `underlay_blocked`: the transport forwards nothing between spokes; with the second and third spokes'
  shortcuts cleared, traffic between them stays on the hub path for the probes' whole run, no shortcut forms,
  the hub keeps every spoke (the first spoke's traffic to the hub LAN probed beside); unblocked, the shortcut
  forms again. The stand-ins do otherwise (labkit/data/cases.yml, `stand_in_gap`): the case proves that gap;
- `wan_address_change`: the first spoke's WAN address changes to the pool's spare link; every hub learns the new
  address, traffic to the hub LAN flows within the budget, no SA with the former address is left;
- `pat_to_pat`: the first two spokes behind PATs (`nat:`) cannot build a direct tunnel; with their shortcuts cleared,
  the first one's traffic to the second stays on the hub path for the probes' whole run, no shortcut forms, the hub
  keeps every spoke (the first one's traffic to the hub LAN probed beside). The stand-ins do otherwise
  (`stand_in_gap`): the case proves that gap.
"""

from __future__ import annotations

from collections.abc import Callable

from labkit.design.model import Design, EdgeCase, Site
from labkit.verify import deadlines
from labkit.verify.checks import failover, ipsec, mtu, renumber
from labkit.verify.checks.failover import Case, Fault, Probe
from labkit.verify.engine import Check, Context
from labkit.verify.schedule import after
from labkit.verify.suites.part import Part, Suite, field


def _mtu(design: Design, case: EdgeCase) -> list[Check]:
    return [mtu.boundary(design), mtu.mss_clamped(design)]


def _pmtud(design: Design, case: EdgeCase) -> list[Check]:
    return [mtu.learned(design), mtu.black_hole(design)]


def _underlay_blocked(design: Design, case: EdgeCase) -> list[Check]:
    """The transport blocks the underlay between spokes; spoke2's traffic to spoke3 probed beside spoke1's to the
    hub; unblocked, their shortcut forms again."""
    s1, s2, s3 = design.spokes[:3]
    transport = design.transport.name
    return _hub_path_case(design, case, s1, (s2, s3), (Fault(transport, "spoke_underlay_blocked"),),
                          (Fault(transport, "spoke_underlay_blocked", step="restore"),), failover.shortcut_up(s2, s3))


def _pat_to_pat(design: Design, case: EdgeCase) -> list[Check]:
    """The first two spokes behind PATs: the first one's traffic to the second probed beside its traffic to the
    hub; their shortcuts cleared before and, to put the lab back, after (the design itself is the fault)."""
    a, b = design.natted_spokes[:2]
    return _hub_path_case(design, case, a, (a, b), (), _cleared((a, b)), failover.no_shortcuts(a, b))


def _cleared(pair: tuple[Site, Site]) -> tuple[Fault, ...]:
    return tuple(Fault(s.name, "shortcuts_cleared") for s in pair)


def _hub_path_case(design: Design, case: EdgeCase, control: Site, pair: tuple[Site, Site], faults: tuple[Fault, ...],
                   undo: tuple[Fault, ...], restored: failover.Condition) -> list[Check]:
    """Traffic between a pair of spokes that cannot build a direct tunnel must stay on the hub path, `control`'s to
    the hub LAN probed beside; the pair's shortcuts cleared after the `faults`. With the catalogue's
    stand-in gap the case proves the gap: the hub path and the hub's sessions undisturbed, and the pair's traffic
    black-holed over a shortcut listed meanwhile."""
    hub, (a, b) = design.hubs[0], pair
    kept = failover.hub_back(design, hub)
    across = Probe(f"{a.name}-{b.name}", a, b.lan.ip, budgeted=not case.stand_in_gap,
                   flows_again=not case.stand_in_gap)
    if case.stand_in_gap:
        case_id, title = f"edge.{case.name}.stand_in_gap", f"{case.title}: the stand-ins' known gap"
        outcome = failover.black_holed_shortcut(a, b)
    else:
        case_id, title = f"edge.{case.name}", case.title
        outcome = failover.on_hub_path(design, a, b)

    def at_end(ctx: Context) -> str:
        return f"{outcome(ctx)}; {kept(ctx)}"

    return [failover.failover_case(design, Case(
        case_id, title, faults + _cleared(pair), outcome,
        (Probe(f"{control.name}-{hub.name}", control, hub.lan.ip), across),
        seconds=deadlines.BLOCKED(design), at_end=at_end, undo=undo, restored=restored,
        budget=case.budget, gap=case.stand_in_gap))]


def _rekey(design: Design, case: EdgeCase) -> list[Check]:
    hub, (s1, s2, s3) = design.hubs[0], design.spokes[:3]
    return [failover.failover_case(design, Case(
        "edge.rekey", case.title, (), ipsec.rekeyed([(s1, hub), (s2, s3)]),
        (Probe(f"{s1.name}-{hub.name}", s1, hub.lan.ip), Probe(f"{s2.name}-{s3.name}", s2, s3.lan.ip)),
        seconds=deadlines.REKEY(design), before=failover.flowing_over_shortcut(s2, s3), budget=case.budget,
        settle=True, look_every_s=deadlines.timers(design).rekey_look_s))]


def _wan_address_change(design: Design, case: EdgeCase) -> list[Check]:
    """The first spoke moves to the WAN pool's spare link (the transport's side first), probed to the hub LAN (the
    budget) and from the second spoke (its loss measured only: its shortcut and SA keep the former address until
    DPD gives them up, about 25 s; it must flow again by the end: both spokes then key a new SA at once, which
    black-holed both until every spoke's CHILD SAs shared one reqid); the stale SAs are gone by the end; moved
    back, likewise."""
    hub, (s1, s2) = design.hubs[0], design.spokes[:2]
    transport, new = design.transport.name, design.spare_wan_link().address.ip
    moved = (Fault(transport, "wan_gateway_moved", {"spoke": s1.name}), Fault(s1.name, "wan_renumbered"))
    across = Probe(f"{s2.name}-{s1.name}", s2, s1.lan.ip, budgeted=False)
    return [failover.failover_case(design, Case(
        "edge.wan_address_change", case.title, moved, renumber.known_at(design, s1, new),
        (Probe(f"{s1.name}-{hub.name}", s1, hub.lan.ip), across),
        seconds=deadlines.RENUMBER(design), at_end=renumber.none_left_at(design, s1, s1.wan.ip),
        undo=tuple(Fault(f.node, f.kind, f.params, step="restore") for f in moved),
        restored=renumber.known_at(design, s1, s1.wan.ip), budget=case.budget))]


CASES: dict[str, Callable[[Design, EdgeCase], list[Check]]] = {
    "mtu": _mtu, "pmtud": _pmtud, "underlay_blocked": _underlay_blocked, "rekey": _rekey,
    "wan_address_change": _wan_address_change, "pat_to_pat": _pat_to_pat}


def _checks(suite: Suite) -> list[Check]:
    design = suite.design
    return after(suite.ready, *(check for case in design.cases for check in CASES[case.name](design, case)))


PART = Part("edge cases: MTU and MSS, path MTU discovery, blocked spoke-to-spoke underlay, rekeys, a WAN address "
            "change, two spokes behind PATs", "faults",
            (field("cases", lambda design: design.cases),), _checks)
