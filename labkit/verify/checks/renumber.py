"""A branch whose WAN address changes (a new DHCP lease, a PPPoE reconnect): every hub knows the spoke at its new
address only (NHRP cache and IPsec), and the spoke is registered, peering and routed as before."""

from __future__ import annotations

from ipaddress import IPv4Address

from labkit.design.model import Design, Site
from labkit.verify.checks.failover import Condition, spoke_back
from labkit.verify.checks.ipsec import installed_in
from labkit.verify.engine import CheckFailed, Context


def known_at(design: Design, spoke: Site, address: IPv4Address) -> Condition:
    """Every hub maps the spoke's tunnel address to `address` and has an SA with it there; spoke_back holds."""
    back = spoke_back(design, spoke)

    def condition(ctx: Context) -> str:
        def one(hub: Site) -> None:
            nbmas = {e.nbma for e in ctx.fact(hub.name, "nhrp_cache") if e.protocol == spoke.tunnel}
            if nbmas != {address}:
                registered = ", ".join(map(str, sorted(nbmas))) or "no address"
                raise CheckFailed(f"{hub.name}: {spoke.name} registered at {registered}, not {address}")
            installed_in(ctx.fact(hub.name, "ike_sas"), hub, address)

        ctx.each(design.hubs, one)
        return f"{back(ctx)}; every hub maps it to {address}, with an SA there"

    return condition


def none_left_at(design: Design, spoke: Site, address: IPv4Address) -> Condition:
    """No hub keeps an IKE SA with the spoke's former address: the stale SAs are gone."""

    def condition(ctx: Context) -> str:
        def one(hub: Site) -> None:
            stale = [sa for sa in ctx.fact(hub.name, "ike_sas") if sa.remote == address]
            if stale:
                raise CheckFailed(f"{hub.name}: {len(stale)} IKE SA(s) with {spoke.name}'s former address {address} "
                                  f"({', '.join(sa.state for sa in stale)})")

        ctx.each(design.hubs, one)
        return f"no hub keeps an SA with {address}"

    return condition
