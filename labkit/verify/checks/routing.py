"""Routing: BGP sessions over the tunnel, and what each spoke's table holds."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from labkit.design.model import Design, Site
from labkit.plan import plan_design
from labkit.verify.deadlines import BFD, BGP, ROUTES
from labkit.verify.engine import Check, CheckFailed, Context
from labkit.verify.state import UP


def _peering_nodes(design: Design) -> tuple[str, ...]:
    return tuple(n for n in design.node_names if n != design.transport.name)


def _every_neighbour(design: Design, fact: str, key: str,
                     judge: Callable[[Any], str | None]) -> Callable[[Context], None]:
    """A probe body: on every peering node, `judge(row or None)` for each BGP neighbour of the design, with
    the rows of `fact` keyed by their `key` address; judge returns a problem or None."""
    nodes = _peering_nodes(design)

    def probe(ctx: Context) -> None:
        def one(node: str) -> None:
            rows = {getattr(row, key): row for row in ctx.fact(node, fact)}
            for other, address in design.bgp_neighbors(node):
                problem = judge(rows.get(address))
                if problem:
                    raise CheckFailed(f"{node}: {problem} ({other}, {address})")

        ctx.each(nodes, one)

    return probe


def bgp_sessions(design: Design) -> Check:
    """Every BGP session the design implies (spoke-hub, and hub-hub, hub-HQ core where there are such) is
    Established on both ends with the design's AS."""
    nodes = _peering_nodes(design)

    def judge(peer: Any) -> str | None:
        if peer is None:
            return "no BGP neighbour"
        if peer.state != UP:
            return f"BGP is {peer.state}"
        if peer.remote_as != design.routing.asn:
            return f"neighbour is AS {peer.remote_as}, design says {design.routing.asn}"
        return None

    check = _every_neighbour(design, "bgp_peers", "neighbor", judge)

    def probe(ctx: Context) -> str:
        check(ctx)
        sessions = sum(len(design.bgp_neighbors(n)) for n in nodes) // 2
        return f"{sessions} BGP sessions Established on both ends"

    return Check("routing.bgp_sessions", "every BGP session of the design is Established", nodes, probe,
                 deadline_s=BGP(design), converge=True)


def bfd_sessions(design: Design) -> Check:
    """Each BGP neighbour is also a BFD peer that is up (multihop over the tunnel, single-hop on the HQ
    segment), so a dead neighbour is noticed in {interval x multiplier} ms, not the BGP hold time."""

    def judge(peer: Any) -> str | None:
        if peer is None:
            return "no BFD session"
        return None if peer.status == "up" else f"BFD is {peer.status}"

    check = _every_neighbour(design, "bfd_peers", "peer", judge)

    def probe(ctx: Context) -> str:
        check(ctx)
        return f"BFD up beside every BGP session (detects a dead peer in {design.routing.bfd.detect_ms} ms)"

    return Check("routing.bfd_sessions", "a BFD session is up beside every BGP session", _peering_nodes(design),
                 probe, deadline_s=BFD(design), converge=True)


def best_bgp(routes: list, address: IPv4Address):
    """The selected BGP route a node would use for `address` (longest match), or None."""
    found = [r for r in routes if r.origin == "bgp" and r.selected and address in r.prefix]
    return max(found, key=lambda r: r.prefix.prefixlen, default=None)


def through_hub(routes: list, nexthop: IPv4Address, hub_tunnels: set, tunnel: IPv4Network) -> IPv4Address | None:
    """The hub a BGP next hop leads to: itself, or, for a next hop off the tunnel, the hub of the node's best BGP
    route to it (an HQ router's route that a hub reflects keeps that router's address as its next hop, reached
    through the hub's HQ segment route: the reflected next hops of phase 2); None otherwise (another spoke)."""
    if nexthop in hub_tunnels:
        return nexthop
    if nexthop in tunnel:
        return None
    via = best_bgp(routes, nexthop)
    return via.nexthop if via is not None and via.nexthop in hub_tunnels else None


def hub_routes(design: Design) -> Check:
    """Every hub the spokes peer with routes each spoke's LAN via that spoke's tunnel address (BGP, selected): the
    way back to a spoke. Without it a hub drops what it answers or forwards to the spoke into the blackhole of its
    summary, while every session is Established (seen: a spoke's pings to the hub LAN all lost, and the phase 3
    story's traceroute unanswered until its own traffic had built a shortcut)."""

    def probe(ctx: Context) -> str:
        def one(hub: Site) -> None:
            selected = {r.prefix: r for r in ctx.fact(hub.name, "routes") if r.origin == "bgp" and r.selected}
            missing = [f"{s.name}'s LAN {s.lan.network}" + (f" (via {route.nexthop})" if route else "")
                       for s in design.spokes
                       if (route := selected.get(s.lan.network)) is None or route.nexthop != s.tunnel]
            if missing:
                raise CheckFailed(f"{hub.name}: no BGP route via the spoke to {', '.join(missing)}")

        ctx.each(design.nhs, one)
        return f"{', '.join(h.name for h in design.nhs)}: each of {len(design.spokes)} spoke LANs routed via its spoke"

    return Check("routing.hub_routes", "hubs route each spoke's LAN via the spoke", tuple(h.name for h in design.nhs),
                 probe, deadline_s=ROUTES(design), converge=True)


def spoke_routes(design: Design) -> Check:
    """Spokes hold the HQ LAN via a hub (its next hop a hub, or an HQ router reached through a hub), and the spoke
    LANs as the hub advertises them: one summary and no specifics (summary), or every other spoke LAN with the
    phase's next hop (all): a hub in phase 1, the remote spoke itself from phase 2 on (the hub reflects without
    rewriting next hops)."""
    mode = design.routing.hub_advertises
    wanted = design.routing.spoke_summary if mode == "summary" else None
    hub_tunnels = {h.tunnel for h in design.hubs}
    plans = plan_design(design)
    hubs_rewrite = any(plans[h.name].bgp.spoke_group.next_hop_self for h in design.hubs)
    spoke_lans = {s.lan.network for s in design.spokes}

    def expected_nexthops(other: Site) -> set:
        return hub_tunnels if hubs_rewrite else {other.tunnel}

    def probe(ctx: Context) -> str:
        def one(spoke: Site) -> None:
            routes = ctx.fact(spoke.name, "routes")
            bgp = {r.prefix: r for r in routes if r.origin == "bgp"}
            hq = sorted({h.lan.network for h in design.hubs} | {design.hq_lan.network})
            required = hq + ([wanted] if wanted else [])
            for prefix in required:
                route = bgp.get(prefix)
                if route is None:
                    raise CheckFailed(f"{spoke.name}: no BGP route to {prefix}")
                if through_hub(routes, route.nexthop, hub_tunnels, design.overlay.tunnel_network) is None:
                    raise CheckFailed(f"{spoke.name}: BGP route {prefix} via {route.nexthop}, which is not a hub "
                                      "and is not reached through one")
            others = [o for o in design.spokes if o != spoke]
            if mode == "summary":
                leaked = [str(p) for p in bgp if p in spoke_lans and p != spoke.lan.network]
                if leaked:
                    raise CheckFailed(f"{spoke.name}: specific spoke LANs leaked past the summary: {leaked}")
            if mode == "all":
                for other in others:
                    route = bgp.get(other.lan.network)
                    if route is None:
                        raise CheckFailed(f"{spoke.name}: no BGP route to {other.name}'s LAN {other.lan.network}")
                    if route.nexthop not in expected_nexthops(other):
                        want = " or ".join(sorted(str(a) for a in expected_nexthops(other)))
                        raise CheckFailed(f"{spoke.name}: BGP route {other.lan.network} ({other.name}) via "
                                          f"{route.nexthop}, phase {design.phase} needs {want}")

        ctx.each(design.spokes, one)
        if mode == "summary":
            return f"every spoke holds the HQ LAN and the summary {wanted} via a hub, no specific spoke LANs"
        if mode == "all":
            via = "the remote spoke's tunnel address" if design.phase >= 2 else "a hub"
            return f"every spoke holds the HQ LAN via a hub and every other spoke LAN via {via}"
        return "every spoke holds the HQ LAN via a hub"

    titles = {
        "summary": "spokes hold the hub's summary and HQ LAN, not each spoke LAN",
        "default": "spokes hold the HQ LAN via a hub",
        "all": "spokes hold every spoke LAN with next hop "
               + ("the remote spoke (hub keeps next hops)" if design.phase >= 2 else "the hub"),
    }
    return Check("routing.spoke_routes", titles[mode], tuple(s.name for s in design.spokes), probe,
                 deadline_s=ROUTES(design), converge=True)
