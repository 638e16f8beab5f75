"""NHRP: registrations on hubs, NHS state on spokes, shortcuts."""

from __future__ import annotations

from ipaddress import IPv4Network

from labkit.design.model import Design, Site
from labkit.verify.engine import Check, CheckFailed, Context


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
                 (hub.name,), probe, deadline_s=120, converge=True)


def spokes_nhs(design: Design) -> Check:
    def probe(ctx: Context) -> str:
        def one(spoke: Site) -> None:
            nhs = {n.nbma: n for n in ctx.fact(spoke.name, "nhrp_nhs")}
            for hub in design.hubs:
                entry = nhs.get(hub.nbma)
                if entry is None:
                    raise CheckFailed(f"{spoke.name}: hub {hub.name} ({hub.nbma}) is not an NHS")
                if entry.protocol != hub.tunnel:
                    raise CheckFailed(f"{spoke.name}: NHS {hub.nbma} not registered (protocol {entry.protocol}, "
                                      f"expected {hub.tunnel})")

        ctx.each(design.spokes, one)
        return f"{len(design.spokes)} spokes list every hub as a registered NHS"

    return Check("nhrp.nhs", "every spoke lists the hub(s) as registered NHS",
                 tuple(s.name for s in design.spokes), probe, deadline_s=120, converge=True)


def shortcut_to(ctx: Context, spoke: Site, prefix: IPv4Network) -> list:
    return [s for s in ctx.fact(spoke.name, "nhrp_shortcuts") if s.prefix == prefix]


def shortcut_absent(src: Site, dst: Site, clear_first: bool) -> Check:
    """The spoke has no shortcut to the other spoke's LAN (after clearing, when asked to)."""

    def probe(ctx: Context) -> str:
        if clear_first and not ctx.memory.get("cleared"):
            ctx.fact(src.name, "clear_shortcuts")
            ctx.memory["cleared"] = True
        found = shortcut_to(ctx, src, dst.lan.network)
        if found:
            raise CheckFailed(f"{src.name} still has a shortcut to {dst.lan.network} via {found[0].via}")
        return f"{src.name} has no shortcut to {dst.lan.network}"

    if clear_first:
        return Check(f"phase3.shortcut_absent.{src.name}-{dst.name}",
                     f"before traffic: no shortcut from {src.name} to {dst.name}'s LAN", (src.name,), probe,
                     deadline_s=40)
    return Check(f"phase3.shortcut_purged.{src.name}-{dst.name}",
                 f"after idle time the shortcut {src.name} -> {dst.name} is purged", (src.name,), probe,
                 deadline_s=180, retry_every_s=5)
