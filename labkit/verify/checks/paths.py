"""Data paths: reachability between LANs, traceroutes, the phase 3 redirect and shortcut."""

from __future__ import annotations

import itertools

from labkit.design.model import Design, Site
from labkit.verify.checks.nhrp import shortcut_to
from labkit.verify.engine import Check, CheckFailed, Context


def _hops(ctx: Context, src: Site, dst: Site) -> list:
    hops = ctx.fact(src.name, "traceroute", timeout=60, source=src.lan.ip, target=dst.lan.ip)
    if not hops:
        raise CheckFailed(f"traceroute {src.name} -> {dst.name}: no hops parsed")
    if hops[-1].address != dst.lan.ip:
        raise CheckFailed(f"traceroute {src.name} -> {dst.name} did not reach {dst.lan.ip}: "
                          f"{[str(h.address) for h in hops]}")
    return hops


def path_via_hub(design: Design, src: Site, dst: Site) -> Check:
    hub_tunnels = {h.tunnel for h in design.hubs}

    def probe(ctx: Context) -> str:
        hops = _hops(ctx, src, dst)
        if len(hops) != 2 or hops[0].address not in hub_tunnels:
            raise CheckFailed(f"{src.name} -> {dst.name} should cross a hub: hops {[str(h.address) for h in hops]}")
        return f"2 overlay hops: {hops[0].address} (hub), {hops[1].address}"

    return Check(f"paths.via_hub.{src.name}-{dst.name}", f"{src.name} -> {dst.name} crosses the hub",
                 (src.name,), probe, deadline_s=40)


def shortcut_installed(src: Site, dst: Site) -> Check:
    """Traffic through the hub makes it redirect; the spoke then routes the LAN via the other spoke."""

    def probe(ctx: Context) -> str:
        ctx.fact(src.name, "ping", count=5, interval=0.2, source=src.lan.ip, target=dst.lan.ip)
        routes = [r for r in ctx.fact(src.name, "routes") if r.prefix == dst.lan.network and r.protocol == "N"]
        if not routes:
            raise CheckFailed(f"{src.name}: no NHRP route to {dst.lan.network} yet")
        if routes[0].nexthop != dst.tunnel:
            raise CheckFailed(f"{src.name}: NHRP route to {dst.lan.network} via {routes[0].nexthop}, "
                              f"expected {dst.name}'s tunnel address {dst.tunnel}")
        if not shortcut_to(ctx, src, dst.lan.network):
            raise CheckFailed(f"{src.name}: NHRP route present but `shortcut` list has no {dst.lan.network}")
        return f"{src.name}: {dst.lan.network} via {dst.tunnel} (NHRP shortcut, beats BGP's summary)"

    return Check(f"phase3.shortcut_installed.{src.name}-{dst.name}",
                 f"traffic makes the hub redirect and {src.name} install a shortcut to {dst.name}'s LAN",
                 (src.name,), probe, deadline_s=60, retry_every_s=3)


def direct_path(src: Site, dst: Site) -> Check:
    def probe(ctx: Context) -> str:
        hops = _hops(ctx, src, dst)
        if len(hops) != 1:
            raise CheckFailed(f"{src.name} -> {dst.name} still {len(hops)} hops: {[str(h.address) for h in hops]}")
        return f"1 overlay hop: {hops[0].address} (direct, not via the hub)"

    return Check(f"paths.direct.{src.name}-{dst.name}", f"with the shortcut, {src.name} -> {dst.name} is one "
                 "overlay hop", (src.name,), probe, deadline_s=40)


def full_mesh(design: Design, count: int = 5) -> Check:
    """Every site's LAN reaches every other's; a new shortcut may lose its first packets."""
    ends = design.sites + ((design.headquarters,) if design.headquarters else ())  # each has .name and .lan
    pairs = list(itertools.permutations(ends, 2))

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

    return Check("paths.full_mesh", "every LAN reaches every other LAN", tuple(e.name for e in ends),
                 probe, deadline_s=120, retry_every_s=3)


def sustained_traffic(src: Site, dst: Site, count: int = 100, interval: float = 0.05) -> Check:
    """A long ping between two LANs; nearly every packet must come back."""

    def probe(ctx: Context) -> str:
        result = ctx.fact(src.name, "ping", timeout=count * interval + 30, count=count, interval=interval,
                          source=src.lan.ip, target=dst.lan.ip)
        received = result[0].received if result else 0
        if received < count * 0.98:
            raise CheckFailed(f"{src.name} -> {dst.name}: {received}/{count} answered")
        return f"{received}/{count} pings every {interval * 1000:.0f} ms answered"

    return Check(f"paths.sustained.{src.name}-{dst.name}", f"sustained traffic {src.name} -> {dst.name} "
                 f"({count} pings)", (src.name,), probe, deadline_s=60)
