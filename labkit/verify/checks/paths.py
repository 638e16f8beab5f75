"""Data paths: reachability between LANs, traceroutes, the phase 3 redirect and shortcut.

Which LAN pairs a suite pings depends on the lab's size: every ordered pair up to FULL_MESH_MAX_SPOKES spokes;
beyond, every spoke's LAN to each central LAN (hubs, HQ) plus a bounded, deterministic sample of spoke pairs,
so that the cost grows linearly with the spokes (a full mesh of 20 spokes, 420 pairs each building its own
shortcut and IKE SA, took over 20 minutes under TCG)."""

from __future__ import annotations

import itertools

from labkit.design.model import Design, Headquarters, Site
from labkit.verify.checks.ipsec import installed_child
from labkit.verify.checks.nhrp import no_shortcut, shortcut_to
from labkit.verify.deadlines import LOOK, REACHABILITY, SAMPLED, SHORTCUT, TRAFFIC
from labkit.verify.engine import Check, CheckFailed, Context

FULL_MESH_MAX_SPOKES = 3  # the scenario labs' size; a larger lab gets the linear set of pairs
SAMPLE_PAIRS = 8  # spoke pairs a larger lab proves spoke to spoke (its shortcuts, its reachability)

End = Site | Headquarters  # a LAN's owner: each has .name and .lan


def _hops(ctx: Context, src: Site, dst: Site) -> list:
    hops = ctx.fact(src.name, "traceroute", timeout=60, source=src.lan.ip, target=dst.lan.ip)
    if not hops:
        raise CheckFailed(f"traceroute {src.name} -> {dst.name}: no hops parsed")
    if hops[-1].address != dst.lan.ip:
        raise CheckFailed(f"traceroute {src.name} -> {dst.name} did not reach {dst.lan.ip}: "
                          f"{[str(h.address) for h in hops]}")
    return hops


def crosses_hub(ctx: Context, design: Design, src: Site, dst: Site) -> str:
    """CheckFailed unless traffic from src's LAN to dst's takes two overlay hops, the first a hub."""
    hops = _hops(ctx, src, dst)
    if len(hops) != 2 or hops[0].address not in {h.tunnel for h in design.hubs}:
        raise CheckFailed(f"{src.name} -> {dst.name} should cross a hub: hops {[str(h.address) for h in hops]}")
    return f"2 overlay hops: {hops[0].address} (hub), {hops[1].address}"


def path_via_hub(design: Design, src: Site, dst: Site) -> Check:
    def probe(ctx: Context) -> str:
        return crosses_hub(ctx, design, src, dst)

    return Check(f"paths.via_hub.{src.name}-{dst.name}", f"{src.name} -> {dst.name} crosses the hub",
                 (src.name,), probe, deadline_s=LOOK(design))


def _shortcut(ctx: Context, src: Site, dst: Site) -> str:
    """Traffic from src's LAN to dst's; CheckFailed unless src then routes dst's LAN via dst (an NHRP shortcut)."""
    ctx.fact(src.name, "ping", count=5, interval=0.2, source=src.lan.ip, target=dst.lan.ip)
    return shortcut_routed(ctx, src, dst)


def shortcut_routed(ctx: Context, src: Site, dst: Site) -> str:
    """CheckFailed unless src routes dst's LAN via dst's tunnel address over a listed NHRP shortcut (sends nothing)."""
    routes = [r for r in ctx.fact(src.name, "routes") if r.prefix == dst.lan.network and r.origin == "nhrp"]
    if not routes:
        raise CheckFailed(f"{src.name}: no NHRP route to {dst.lan.network} yet")
    if routes[0].nexthop != dst.tunnel:
        raise CheckFailed(f"{src.name}: NHRP route to {dst.lan.network} via {routes[0].nexthop}, "
                          f"expected {dst.name}'s tunnel address {dst.tunnel}")
    if not shortcut_to(ctx, src, dst.lan.network):
        raise CheckFailed(f"{src.name}: NHRP route present but `shortcut` list has no {dst.lan.network}")
    return f"{src.name}: {dst.lan.network} via {dst.tunnel} (NHRP shortcut, beats BGP's summary)"


def shortcut_installed(design: Design, src: Site, dst: Site) -> Check:
    """Traffic through the hub makes it redirect; the spoke then routes the LAN via the other spoke."""
    return Check(f"phase3.shortcut_installed.{src.name}-{dst.name}",
                 f"traffic makes the hub redirect and {src.name} install a shortcut to {dst.name}'s LAN",
                 (src.name,), lambda ctx: _shortcut(ctx, src, dst), deadline_s=SHORTCUT(design),
                 retry_every_s=3)


def _one_hop(ctx: Context, src: Site, dst: Site) -> str:
    hops = _hops(ctx, src, dst)
    if len(hops) != 1:
        raise CheckFailed(f"{src.name} -> {dst.name} still {len(hops)} hops: {[str(h.address) for h in hops]}")
    return f"1 overlay hop: {hops[0].address} (direct, not via the hub)"


def direct_path(design: Design, src: Site, dst: Site) -> Check:
    return Check(f"paths.direct.{src.name}-{dst.name}", f"with the shortcut, {src.name} -> {dst.name} is one "
                 "overlay hop", (src.name,), lambda ctx: _one_hop(ctx, src, dst), deadline_s=LOOK(design))


def black_holed(design: Design, a: End, b: End) -> bool:
    """Two spokes behind PATs in a cloud with shortcuts: no direct tunnel can come up between them, yet FRR 8.4.4
    nhrpd installs the shortcut and black-holes their traffic (labkit/data/cases.yml, pat_to_pat). Reachability
    leaves such a pair out; the pat_to_pat case proves the gap."""
    return (design.phase >= 2 and isinstance(a, Site) and isinstance(b, Site)
            and not design.direct_possible(a, b))


def sample_pairs(design: Design) -> tuple[tuple[Site, Site], ...]:
    """Spoke i -> spoke i+1 around the ring of spokes, for at most SAMPLE_PAIRS values of i spread evenly over
    it: the same pairs for the same design, each spoke the source of one pair at most; a black-holed pair (two
    spokes behind PATs) left out."""
    spokes = design.spokes
    if len(spokes) < 2:
        return ()
    count = min(len(spokes), SAMPLE_PAIRS)
    pairs = ((spokes[i], spokes[(i + 1) % len(spokes)]) for i in (j * len(spokes) // count for j in range(count)))
    return tuple(pair for pair in pairs if not black_holed(design, *pair))


def sampled_shortcuts(design: Design) -> Check:
    """Phase 3 for each sampled spoke pair: no shortcut before traffic (after clearing), then traffic makes the
    hub redirect and the spoke install one, the path is one overlay hop, and the pair has an IPsec SA of its own."""
    pairs = sample_pairs(design)

    def probe(ctx: Context) -> str:
        def absent(pair: tuple[Site, Site]) -> None:
            ctx.fact(pair[0].name, "clear_shortcuts")
            no_shortcut(ctx, *pair)

        def formed(pair: tuple[Site, Site]) -> None:
            src, dst = pair
            _shortcut(ctx, src, dst)
            _one_hop(ctx, src, dst)
            installed_child(ctx, src, dst.nbma)

        if not ctx.memory.get("absent"):  # proved once; a retry goes on from the traffic
            ctx.each(pairs, absent)
            ctx.memory["absent"] = True
        ctx.each(pairs, formed)
        return (f"{len(pairs)} sampled spoke pairs: no shortcut before traffic, then a shortcut, one overlay hop, "
                "their own SA")

    return Check("phase3.sampled_shortcuts", f"{len(pairs)} sampled spoke pairs build shortcuts on traffic",
                 _names(pairs), probe, deadline_s=SAMPLED(design), retry_every_s=3)


def full_mesh(design: Design) -> bool:
    """Small enough for every LAN pair to be proved (the scenario labs' size)."""
    return len(design.spokes) <= FULL_MESH_MAX_SPOKES


def lan_pairs(design: Design) -> list[tuple[End, End]]:
    """The LAN pairs whose reachability is proved: every ordered pair up to FULL_MESH_MAX_SPOKES spokes but the
    black-holed ones; beyond, the central LANs (hubs', HQ's) with each other, each spoke to each of them, and the
    sampled spoke pairs."""
    hq = (design.headquarters,) if design.headquarters else ()
    if full_mesh(design):
        return [pair for pair in itertools.permutations((*design.sites, *hq), 2) if not black_holed(design, *pair)]
    central = (*design.hubs, *hq)
    return [*itertools.permutations(central, 2), *itertools.product(design.spokes, central), *sample_pairs(design)]


def reachability(design: Design, count: int = 5) -> Check:
    """The LANs of `lan_pairs` reach each other, probed in parallel; a new shortcut may lose its first packets."""
    pairs = lan_pairs(design)
    if full_mesh(design):
        check_id, title = "paths.full_mesh", "every LAN reaches every other LAN"
        if any(black_holed(design, *pair) for pair in itertools.permutations(design.spokes, 2)):
            title += " (spokes behind PATs each other aside: a stand-in gap, pat_to_pat)"
    else:
        check_id = "paths.hubs_and_sample"
        title = f"every spoke LAN reaches the hub LANs, {len(sample_pairs(design))} sampled spoke pairs each other"

    def probe(ctx: Context) -> str:
        passed: set = ctx.memory.setdefault("passed", set())

        def one(pair: tuple) -> None:
            src, dst = pair
            if (src.name, dst.name) in passed:
                return
            result = ctx.fact(src.name, "ping", count=count, interval=0.2, source=src.lan.ip, target=dst.lan.ip)
            received = result[0].received if result else 0
            if received < count - 2:
                raise CheckFailed(f"{src.name} -> {dst.name}: {received}/{count} answered")
            passed.add((src.name, dst.name))

        ctx.each(pairs, one)
        return f"{len(pairs)} LAN pairs answer pings ({count} each, first packets of a new shortcut may drop)"

    return Check(check_id, title, _names(pairs), probe, deadline_s=REACHABILITY(design, probes=len(pairs)),
                 retry_every_s=3)


def _names(pairs: list[tuple[End, End]]) -> tuple[str, ...]:
    """The nodes of the pairs' LANs, each once, in order of appearance."""
    return tuple(dict.fromkeys(end.name for pair in pairs for end in pair))


def sustained_traffic(design: Design, src: Site, dst: Site, count: int = 100, interval: float = 0.05) -> Check:
    """A long ping between two LANs; nearly every packet must come back."""

    def probe(ctx: Context) -> str:
        result = ctx.fact(src.name, "ping", timeout=count * interval + 30, count=count, interval=interval,
                          source=src.lan.ip, target=dst.lan.ip)
        received = result[0].received if result else 0
        if received < count * 0.98:
            raise CheckFailed(f"{src.name} -> {dst.name}: {received}/{count} answered")
        return f"{received}/{count} pings every {interval * 1000:.0f} ms answered"

    return Check(f"paths.sustained.{src.name}-{dst.name}", f"sustained traffic {src.name} -> {dst.name} "
                 f"({count} pings)", (src.name,), probe, deadline_s=TRAFFIC(design))
