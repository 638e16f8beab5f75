"""NHRP: registrations on hubs, NHS state on spokes, shortcuts."""

from __future__ import annotations

from ipaddress import IPv4Network

from labkit.design.model import Design, Site
from labkit.plan import plan_design
from labkit.verify.deadlines import LOOK, PROBE_S, PURGE, REGISTRATION, SHORTCUT
from labkit.verify.engine import Check, CheckFailed, Context
from labkit.verify.state import UP


def hub_registrations(design: Design, hub: Site) -> Check:
    def probe(ctx: Context) -> str:
        entries = ctx.fact(hub.name, "nhrp_cache")
        dynamic = {e.protocol: e for e in entries if e.kind == "dynamic"}
        problems = []
        for spoke in design.spokes:
            entry = dynamic.get(spoke.tunnel)
            if entry is None:
                problems.append(f"no dynamic entry for {spoke.name} ({spoke.tunnel})")
            elif entry.nbma != spoke.nbma:
                problems.append(f"{spoke.name} registered with NBMA {entry.nbma}, design says {spoke.nbma}")
        if problems:
            raise CheckFailed(f"{hub.name}: " + "; ".join(problems))
        return f"{len(design.spokes)} spokes registered with their design tunnel and NBMA addresses"

    return Check(f"nhrp.registrations.{hub.name}", f"every spoke is registered in {hub.name}'s NHRP cache",
                 (hub.name,), probe, deadline_s=REGISTRATION(design), converge=True)


def spokes_nhs(design: Design) -> Check:
    """Each spoke has registered with every NHS its plan gives it (a cluster's units are one NHS)."""
    plans = plan_design(design)

    def probe(ctx: Context) -> str:
        def one(spoke: Site) -> None:
            nhs = {n.nbma: n for n in ctx.fact(spoke.name, "nhrp_nhs")}
            for hub in plans[spoke.name].nhrp.nhs:
                entry = nhs.get(hub.nbma)
                if entry is None:
                    raise CheckFailed(f"{spoke.name}: hub {hub.name} ({hub.nbma}) is not an NHS")
                if entry.protocol != hub.tunnel:
                    raise CheckFailed(f"{spoke.name}: NHS {hub.nbma} not registered (protocol {entry.protocol}, "
                                      f"expected {hub.tunnel})")

        ctx.each(design.spokes, one)
        return f"{len(design.spokes)} spokes list every hub as a registered NHS"

    return Check("nhrp.nhs", "every spoke lists the hub(s) as registered NHS",
                 tuple(s.name for s in design.spokes), probe, deadline_s=REGISTRATION(design), converge=True)


def shortcut_to(ctx: Context, spoke: Site, prefix: IPv4Network) -> list:
    return [s for s in ctx.fact(spoke.name, "nhrp_shortcuts") if s.prefix == prefix]


def no_shortcut(ctx: Context, src: Site, dst: Site) -> str:
    """CheckFailed if the spoke has a shortcut to the other spoke's LAN."""
    found = shortcut_to(ctx, src, dst.lan.network)
    if found:
        raise CheckFailed(f"{src.name} still has a shortcut to {dst.lan.network} via {found[0].via}")
    return f"{src.name} has no shortcut to {dst.lan.network}"


def shortcut_absent(design: Design, src: Site, dst: Site, clear_first: bool) -> Check:
    """The spoke has no shortcut to the other spoke's LAN: after clearing it (`clear_first`), or once idle
    traffic let it be purged (deadlines.PURGE)."""

    def probe(ctx: Context) -> str:
        if clear_first and not ctx.memory.get("cleared"):
            ctx.fact(src.name, "clear_shortcuts")
            ctx.memory["cleared"] = True
        return no_shortcut(ctx, src, dst)

    if clear_first:
        return Check(f"phase3.shortcut_absent.{src.name}-{dst.name}",
                     f"before traffic: no shortcut from {src.name} to {dst.name}'s LAN", (src.name,), probe,
                     deadline_s=LOOK(design))
    return Check(f"phase3.shortcut_purged.{src.name}-{dst.name}",
                 f"after idle time the shortcut {src.name} -> {dst.name} is purged", (src.name,), probe,
                 deadline_s=PURGE(design), retry_every_s=5)


def _held_for(cache: list, sas: list, other: Site) -> list[str]:
    """Of a node's NHRP cache and IKE SAs, what concerns `other`: entries for its tunnel or NBMA address, SAs."""
    found = [f"NHRP {e.kind} entry {e.protocol} -> {e.nbma}" for e in cache
             if e.nbma == other.nbma or e.protocol == other.tunnel]
    return found + [f"IKE SA ({sa.state}) with {sa.remote}" for sa in sas if sa.remote == other.nbma]


def peering(ctx: Context, spoke: Site, other: Site) -> list[str]:
    """What `spoke` holds for `other`: NHRP cache entries for its tunnel or NBMA address, IKE SAs with it."""
    return _held_for(ctx.fact(spoke.name, "nhrp_cache"), ctx.fact(spoke.name, "ike_sas"), other)


def no_spoke_peering(design: Design) -> Check:
    """Phase 1: no spoke knows any other spoke's NBMA address or has an SA with it. Checked once, right
    after the traffic: retrying could wait for some stray state to expire and hide it."""

    def probe(ctx: Context) -> str:
        def one(spoke: Site) -> None:
            cache, sas = ctx.fact(spoke.name, "nhrp_cache"), ctx.fact(spoke.name, "ike_sas")
            found = [f"{other.name}: {item}" for other in design.spokes if other != spoke
                     for item in _held_for(cache, sas, other)]
            if found:
                raise CheckFailed(f"{spoke.name} holds spoke-to-spoke state: {'; '.join(found)}")

        ctx.each(design.spokes, one)
        return f"none of {len(design.spokes)} spokes holds an NHRP entry or IKE SA for another spoke"

    return Check("phase1.no_spoke_peering", "after spoke-to-spoke traffic, no spoke holds an NHRP entry or "
                 "IPsec SA for another spoke", tuple(s.name for s in design.spokes), probe, deadline_s=0,
                 attempt_s=2 * PROBE_S * len(design.spokes))


def no_tunnel_yet(src: Site, dst: Site) -> Check:
    """Phase 2, before any traffic between them: no resolution and no SA (checked once, never retried)."""

    def probe(ctx: Context) -> str:
        found = peering(ctx, src, dst)
        if found:
            raise CheckFailed(f"{src.name} already holds state for {dst.name} before traffic: {'; '.join(found)}")
        return f"{src.name} holds no NHRP entry and no SA for {dst.name} ({dst.tunnel} / {dst.nbma})"

    return Check(f"phase2.no_tunnel_before.{src.name}-{dst.name}",
                 f"before traffic: no NHRP entry or SA from {src.name} to {dst.name}", (src.name,), probe,
                 deadline_s=0)


def tunnel_on_demand(design: Design, src: Site, dst: Site) -> Check:
    """Phase 2: traffic to the remote LAN makes the spoke resolve the BGP next hop (the remote spoke's tunnel
    address) to its NBMA address and bring up an SA with it."""

    def probe(ctx: Context) -> str:
        # traffic keeps flowing while resolution runs: the first reply can be lost while IKE comes up,
        # and FRR 8.4.4 does not retry a resolution by itself
        ctx.fact(src.name, "ping", count=5, interval=0.2, source=src.lan.ip, target=dst.lan.ip)
        entries = [e for e in ctx.fact(src.name, "nhrp_cache") if e.protocol == dst.tunnel]
        if not entries:
            raise CheckFailed(f"{src.name}: next hop {dst.tunnel} ({dst.name}) not resolved by NHRP yet")
        if entries[0].nbma != dst.nbma:
            raise CheckFailed(f"{src.name}: {dst.tunnel} resolved to {entries[0].nbma}, design says {dst.nbma}")
        sas = [sa for sa in ctx.fact(src.name, "ike_sas") if sa.remote == dst.nbma and sa.state == UP]
        if not sas:
            raise CheckFailed(f"{src.name}: {dst.tunnel} resolved, but no IKE SA up with {dst.nbma}")
        return f"{src.name}: {dst.tunnel} resolved to {dst.nbma} ({entries[0].kind}); IKE SA established"

    return Check(f"phase2.tunnel_on_demand.{src.name}-{dst.name}",
                 f"traffic makes {src.name} resolve {dst.name}'s tunnel address and build an SA with it",
                 (src.name,), probe, deadline_s=SHORTCUT(design), retry_every_s=3)
