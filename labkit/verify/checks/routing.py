"""Routing: BGP sessions over the tunnel, and what each spoke's table holds."""

from __future__ import annotations

from labkit.design.model import Design, Site
from labkit.verify.engine import Check, CheckFailed, Context


def bgp_sessions(design: Design) -> Check:
    def probe(ctx: Context) -> str:
        def one(node: Site) -> None:
            peers = {p.neighbor: p for p in ctx.fact(node.name, "bgp_peers")}
            expected = design.spokes if node.role == "hub" else design.hubs
            for other in expected:
                peer = peers.get(other.tunnel)
                if peer is None:
                    raise CheckFailed(f"{node.name}: no BGP neighbour {other.tunnel} ({other.name})")
                if peer.state != "Established":
                    raise CheckFailed(f"{node.name}: BGP with {other.name} is {peer.state}")
                if peer.remote_as != design.routing.asn:
                    raise CheckFailed(f"{node.name}: {other.name} is AS {peer.remote_as}, design says "
                                      f"{design.routing.asn}")

        ctx.each(design.sites, one)
        return f"{len(design.spokes) * len(design.hubs)} hub-spoke BGP sessions Established on both ends"

    return Check("routing.bgp_sessions", "BGP sessions Established between each hub and each spoke",
                 tuple(s.name for s in design.sites), probe, deadline_s=120, converge=True)


def spoke_routes(design: Design) -> Check:
    """Spokes hold the hub's summary (or default) and the HQ LAN via a hub, and, with a summary, no
    other spoke's specific LAN from BGP: the property that makes the hub summarise."""
    wanted = {"summary": design.routing.spoke_summary, "default": None, "all": None}[design.routing.hub_advertises]
    hub_tunnels = {h.tunnel for h in design.hubs}

    def probe(ctx: Context) -> str:
        def one(spoke: Site) -> None:
            bgp = {r.prefix: r for r in ctx.fact(spoke.name, "routes") if r.protocol == "B"}
            required = [h.lan.network for h in design.hubs] + ([wanted] if wanted else [])
            for prefix in required:
                route = bgp.get(prefix)
                if route is None:
                    raise CheckFailed(f"{spoke.name}: no BGP route to {prefix}")
                if route.nexthop not in hub_tunnels:
                    raise CheckFailed(f"{spoke.name}: BGP route {prefix} via {route.nexthop}, not a hub")
            if design.routing.hub_advertises == "summary":
                leaked = [str(p) for p in bgp if any(p == o.lan.network for o in design.spokes)]
                if leaked:
                    raise CheckFailed(f"{spoke.name}: specific spoke LANs leaked past the summary: {leaked}")

        ctx.each(design.spokes, one)
        shown = f"summary {wanted}" if wanted else design.routing.hub_advertises
        return f"every spoke holds the HQ LAN and the hub's {shown} via a hub, no specific spoke LANs"

    return Check("routing.spoke_routes", "spokes hold the hub's summary and HQ LAN, not each spoke LAN",
                 tuple(s.name for s in design.spokes), probe, deadline_s=90, converge=True)
