"""MPLS L3VPN over the DMVPN cloud: VPNv4 sessions, labelled VRF routes, reachability inside each VRF,
isolation between VRFs and from the global table, and labels inside the tunnel with ESP outside it."""

from __future__ import annotations

import itertools
from ipaddress import IPv4Interface, IPv4Network

from labkit.design.model import Design, Site, Vrf
from labkit.verify.checks.ipsec import captured_during, esp_only
from labkit.verify.deadlines import ISOLATION, ROUTES, TRAFFIC, VPN, VRF_PINGS
from labkit.verify.engine import Check, CheckFailed, Context
from labkit.verify.state import UP


def _lan(design: Design, site: Site, vrf: Vrf) -> IPv4Interface:
    return dict((v.name, lan) for v, lan in design.vrf_lans(site.name))[vrf.name]


def _vrf_ping(ctx: Context, design: Design, src: Site, vrf: Vrf, target: IPv4Interface, count: int) -> int:
    """Pings from src's LAN in `vrf` to `target`; the number answered."""
    result = ctx.fact(src.name, "vrf_ping", vrf=vrf.name, source=_lan(design, src, vrf).ip, target=target.ip,
                      count=count, interval=0.2)
    return result[0].received if result else 0


def vpn_sessions(design: Design) -> Check:
    """VPNv4 runs on every hub-spoke session and carries routes both ways."""
    hub = design.hubs[0]

    def probe(ctx: Context) -> str:
        def one(site: Site) -> None:
            peers = {p.neighbor: p for p in ctx.fact(site.name, "vpn_peers")}
            others = design.spokes if site.role == "hub" else (hub,)
            for other in others:
                peer = peers.get(other.tunnel)
                if peer is None or peer.state != UP:
                    state = peer.state if peer else "absent"
                    raise CheckFailed(f"{site.name}: VPNv4 session with {other.name} ({other.tunnel}) is {state}")
                if not peer.prefixes_received:
                    raise CheckFailed(f"{site.name}: VPNv4 session with {other.name} Established but no routes")

        ctx.each(design.sites, one)
        return f"{len(design.spokes)} hub-spoke VPNv4 sessions Established, routes received on both ends"

    return Check("mpls.vpn_sessions", "VPNv4 sessions Established between the hub and every spoke",
                 tuple(s.name for s in design.sites), probe, deadline_s=VPN(design), converge=True)


def expected_vrf_routes(design: Design, site: Site, vrf: Vrf) -> dict[IPv4Network, Site]:
    """The VPN routes a site's VRF must hold, with the PE they lead to: the hub holds every spoke's LAN;
    a spoke holds the HQ LAN and the VRF's spoke pool (the hub's summary), both via the hub."""
    hub = design.hubs[0]
    if site.role == "hub":
        return {_lan(design, s, vrf).network: s for s in design.spokes}
    return {vrf.hq_lan.network: hub, vrf.lan_pool: hub}


def vrf_routes(design: Design) -> Check:
    """Each VRF on each node holds the expected VPN routes, selected, with a label and the PE's tunnel
    address as next hop."""

    def probe(ctx: Context) -> str:
        def one(item: tuple[Site, Vrf]) -> None:
            site, vrf = item
            routes = {r.prefix: r for r in ctx.fact(site.name, "vrf_routes", vrf=vrf.name)}
            for prefix, pe in expected_vrf_routes(design, site, vrf).items():
                route = routes.get(prefix)
                if route is None or route.origin != "bgp" or not route.selected:
                    raise CheckFailed(f"{site.name} vrf {vrf.name}: no selected BGP route to {prefix} "
                                      f"(found {route})")
                if not route.labels:
                    raise CheckFailed(f"{site.name} vrf {vrf.name}: {prefix} has no MPLS label")
                if route.nexthop != pe.tunnel:
                    raise CheckFailed(f"{site.name} vrf {vrf.name}: {prefix} via {route.nexthop}, expected "
                                      f"{pe.name} ({pe.tunnel})")

        items = list(itertools.product(design.sites, design.mpls.vrfs))
        ctx.each(items, one)
        routes = sum(len(expected_vrf_routes(design, s, v)) for s, v in items)
        return f"{routes} labelled VPN routes in {len(items)} VRF tables, each via its PE's tunnel address"

    return Check("mpls.vrf_routes", "each VRF on each node holds the expected routes, with labels",
                 tuple(s.name for s in design.sites), probe, deadline_s=ROUTES(design), converge=True)


def no_leaks(design: Design) -> Check:
    """No VRF network in any global table, and each VRF table holds only its own VRF's networks."""
    vrf_nets = {v.name: [v.hq_lan.network, v.lan_pool] for v in design.mpls.vrfs}

    def inside(prefix: IPv4Network, nets: list[IPv4Network]) -> bool:
        return any(prefix.subnet_of(n) for n in nets)

    def probe(ctx: Context) -> str:
        def one(site: Site) -> None:
            every_vrf = [n for nets in vrf_nets.values() for n in nets]
            leaked = [str(r.prefix) for r in ctx.fact(site.name, "routes") if inside(r.prefix, every_vrf)]
            if leaked:
                raise CheckFailed(f"{site.name}: VRF routes leaked into the global table: {leaked}")
            for vrf in design.mpls.vrfs:
                foreign = [str(r.prefix) for r in ctx.fact(site.name, "vrf_routes", vrf=vrf.name)
                           if not inside(r.prefix, vrf_nets[vrf.name])]
                if foreign:
                    raise CheckFailed(f"{site.name} vrf {vrf.name}: routes from outside {vrf.name}: {foreign}")

        ctx.each(design.sites, one)
        return (f"{len(design.sites)} global tables free of VRF routes; every VRF table holds only its "
                "own networks")

    return Check("mpls.no_leaks", "VRF routes stay in their VRF: none in the global table or another VRF",
                 tuple(s.name for s in design.sites), probe, deadline_s=TRAFFIC(design))


def vrf_reachability(design: Design, vrf: Vrf, count: int = 3) -> Check:
    """Every site's LAN in the VRF reaches every other site's LAN in it (spoke to spoke included)."""
    pairs = list(itertools.permutations(design.sites, 2))

    def probe(ctx: Context) -> str:
        passed: set = ctx.memory.setdefault("passed", set())

        def one(pair: tuple[Site, Site]) -> None:
            src, dst = pair
            if (src.name, dst.name) in passed:
                return
            received = _vrf_ping(ctx, design, src, vrf, _lan(design, dst, vrf), count)
            if received < count - 1:
                raise CheckFailed(f"vrf {vrf.name}: {src.name} -> {dst.name}: {received}/{count} answered")
            passed.add((src.name, dst.name))

        ctx.each(pairs, one)
        return f"{len(pairs)} site pairs answer pings inside {vrf.name}"

    return Check(f"mpls.reachability.{vrf.name}", f"every site reaches every other inside VRF {vrf.name}",
                 tuple(s.name for s in design.sites), probe, deadline_s=VRF_PINGS(design), retry_every_s=3)


def isolation(design: Design, count: int = 2) -> Check:
    """Nothing in one VRF reaches anything in another VRF or in the global table, on any site (its own
    included). A broken VRF would make this pass vacuously, so each source first proves it reaches its
    own VRF at the hub."""
    hub = design.hubs[0]
    targets = [(dst, name, lan) for dst in design.sites
               for name, lan in [*((v.name, lan) for v, lan in design.vrf_lans(dst.name)), ("global", dst.lan)]]
    crossings = [(src, vrf, dst, name, lan) for src in design.sites for vrf in design.mpls.vrfs
                 for dst, name, lan in targets if name != vrf.name]
    controls = [(src, vrf) for src in design.spokes for vrf in design.mpls.vrfs]

    def probe(ctx: Context) -> str:
        def control(item: tuple[Site, Vrf]) -> None:
            src, vrf = item
            if not _vrf_ping(ctx, design, src, vrf, vrf.hq_lan, count):
                raise CheckFailed(f"positive control: {src.name} vrf {vrf.name} cannot reach {hub.name}'s "
                                  f"{vrf.name} LAN, so isolation cannot be judged")

        def crossing(item: tuple[Site, Vrf, Site, str, IPv4Interface]) -> None:
            src, vrf, dst, name, target = item
            lookup = ctx.fact(src.name, "vrf_route_lookup", vrf=vrf.name, target=target.ip)
            if lookup and lookup[0].path:  # a packet would leave the VRF, answered or not
                raise CheckFailed(f"ISOLATION BROKEN: {src.name} vrf {vrf.name} routes {dst.name}'s {name} LAN "
                                  f"{target.ip} out of the VRF: {lookup[0].path}")
            if _vrf_ping(ctx, design, src, vrf, target, 1):  # one answer is a leak; a leak answers every time
                raise CheckFailed(f"ISOLATION BROKEN: {src.name} vrf {vrf.name} reached {dst.name}'s {name} LAN "
                                  f"{target.ip}")

        ctx.each(controls, control)
        ctx.each(crossings, crossing)
        return (f"{len(crossings)} lookups from each VRF to the other VRF's and the global LANs all refused, their "
                f"pings unanswered; "
                f"{len(controls)} same-VRF controls answered")

    names = " and ".join(v.name for v in design.mpls.vrfs)
    return Check("mpls.isolation", f"{names} reach neither each other nor the global table, on any site",
                 tuple(s.name for s in design.sites), probe, deadline_s=ISOLATION(design))


def labels_on_the_wire(design: Design, vrf: Vrf, src: Site, dst: Site) -> Check:
    """Spoke-to-spoke VPN traffic, captured on the hub's tunnel interface, arrives from one spoke and
    leaves to the other carrying MPLS labels (through the hub, as the design says), while the transport
    router sees only ESP."""
    hub, transport = design.hubs[0], design.transport.name
    src_lan, dst_lan = _lan(design, src, vrf).ip, _lan(design, dst, vrf).ip

    def probe(ctx: Context) -> str:
        def traffic() -> None:
            _vrf_ping(ctx, design, src, vrf, _lan(design, dst, vrf), 10)

        tunnel, wire = captured_during(ctx, [(hub.name, "tunnel_capture", {"seconds": 8, "count": 40}),
                                             (transport, "capture", {"seconds": 8, "count": 40})], traffic)
        flow = [p for p in tunnel if {p.src, p.dst} == {src_lan, dst_lan}]
        unlabelled = [p for p in flow if not p.labels]
        if not flow:
            raise CheckFailed(f"{hub.name} gre1 saw no {vrf.name} packets between {src.name} and {dst.name}: "
                              f"spoke-to-spoke VPN traffic does not cross the hub")
        if unlabelled:
            raise CheckFailed(f"{hub.name} gre1: {len(unlabelled)} of {len(flow)} {vrf.name} packets carried no label")
        directions = {p.direction for p in flow}
        if directions != {"in", "out"}:
            raise CheckFailed(f"{hub.name} gre1: {vrf.name} packets only {directions}, expected in and out")
        stacks = sorted({p.labels for p in flow})
        on_wire = esp_only(wire, transport, f"{vrf.name} traffic {src.name} -> {dst.name}")
        return (f"{hub.name} gre1: {len(flow)} {vrf.name} packets {src.name} <-> {dst.name} in and out, "
                f"label stacks {stacks}; {on_wire}")

    return Check(f"mpls.labels_on_the_wire.{vrf.name}", f"{vrf.name} traffic {src.name} -> {dst.name} crosses the "
                 f"hub labelled inside the tunnel and as ESP on the transport", (hub.name, transport, src.name),
                 probe, deadline_s=TRAFFIC(design))
