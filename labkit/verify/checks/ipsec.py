"""IPsec: SAs between peers, ESP counters growing under traffic, ESP-only on the transport network."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Address

from labkit.design.model import Design, Site
from labkit.verify.deadlines import LOOK, REGISTRATION, TRAFFIC
from labkit.verify.engine import Check, CheckFailed, Context
from labkit.verify.state import UP, ChildSa, IkeSa


def installed_child(ctx: Context, node: Site, peer: IPv4Address) -> ChildSa:
    """The installed CHILD SA of `node` with `peer` under an established IKE SA, or CheckFailed."""
    return installed_in(ctx.fact(node.name, "ike_sas"), node, peer)


def installed_in(ike_sas: list[IkeSa], node: Site, peer: IPv4Address) -> ChildSa:
    """Of `node`'s IKE SAs, the installed CHILD SA with `peer` under an established one, or CheckFailed."""
    sas = [sa for sa in ike_sas if sa.remote == peer]
    if not sas:
        raise CheckFailed(f"{node.name}: no IKE SA with {peer}")
    established = [sa for sa in sas if sa.state == UP]
    if not established:
        raise CheckFailed(f"{node.name}: IKE SA with {peer} is {sas[0].state}, not up")
    children = [c for sa in established for c in sa.children if c.state == UP]
    if not children:
        raise CheckFailed(f"{node.name}: IKE SA with {peer} has no CHILD SA up")
    return max(children, key=lambda c: c.packets_in + c.packets_out)


def hub_spoke_sas(design: Design) -> Check:
    """Each spoke's SAs are read on the spoke, each hub's once per attempt (not once per spoke: a hub lists
    every spoke's SA, so reading it per spoke would grow with the square of the spokes)."""

    def probe(ctx: Context) -> str:
        pairs = [(spoke, hub) for spoke in design.spokes for hub in design.hubs]
        on_hub = {hub.name: ctx.fact(hub.name, "ike_sas") for hub in design.hubs}

        def one(pair: tuple[Site, Site]) -> None:
            spoke, hub = pair
            child = installed_child(ctx, spoke, hub.nbma)
            if child.mode != design.ipsec.mode:
                raise CheckFailed(f"{spoke.name}: CHILD SA with {hub.name} is {child.mode}, design says "
                                  f"{design.ipsec.mode}")
            installed_in(on_hub[hub.name], hub, spoke.nbma)

        ctx.each(pairs, one)
        return f"IKE + {design.ipsec.mode} CHILD SA on both ends of {len(pairs)} hub-spoke pairs"

    return Check("ipsec.hub_spoke_sas", "an IKE SA and a CHILD SA between each hub and each spoke",
                 tuple(s.name for s in design.sites), probe, deadline_s=REGISTRATION(design), converge=True)


def spoke_spoke_sa(design: Design, src: Site, dst: Site) -> Check:
    def probe(ctx: Context) -> str:
        installed_child(ctx, src, dst.nbma)
        return f"{src.name} has an established IKE SA and installed CHILD SA with {dst.name} ({dst.nbma})"

    return Check(f"ipsec.spoke_spoke_sa.{src.name}-{dst.name}",
                 f"a direct IPsec SA now exists between {src.name} and {dst.name}", (src.name,), probe,
                 deadline_s=LOOK(design))


def esp_counters_grow(design: Design, spoke: Site, hub: Site, packets: int = 10) -> Check:
    def probe(ctx: Context) -> str:
        before = installed_child(ctx, spoke, hub.nbma)
        ping = ctx.fact(spoke.name, "ping", count=packets, interval=0.2, source=spoke.lan.ip, target=hub.lan.ip)
        after = installed_child(ctx, spoke, hub.nbma)
        grown_out = after.packets_out - before.packets_out
        grown_in = after.packets_in - before.packets_in
        received = ping[0].received if ping else 0
        if grown_out < received or grown_in < received or received == 0:
            raise CheckFailed(f"{spoke.name}: {received} pings answered but ESP counters grew out +{grown_out}, "
                              f"in +{grown_in}")
        return f"{received}/{packets} pings; ESP packets out +{grown_out}, in +{grown_in}"

    return Check(f"ipsec.esp_counters.{spoke.name}", f"ESP counters of {spoke.name}'s SA with {hub.name} grow "
                 "under traffic", (spoke.name,), probe, deadline_s=TRAFFIC(design))


def captured_during(ctx: Context, captures: list[tuple[str, str, dict]], traffic: Callable[[], None]) -> list[list]:
    """Start captures (node, fact, params) together, let tcpdump start, send the traffic again and again until every
    capture has ended (a capture may start late: on a machine shared with other labs it waits for its turn), then
    collect them all."""
    with ThreadPoolExecutor(max_workers=len(captures)) as pool:
        running = [pool.submit(ctx.fact, node, fact, timeout=30, **params) for node, fact, params in captures]
        time.sleep(1.5)  # let tcpdump start before the traffic
        traffic()
        while not all(capture.done() for capture in running):
            traffic()
        return [capture.result() for capture in running]


def esp_only(packets: list, transport: str, traffic: str) -> str:
    """CheckFailed unless a transport capture holds ESP (the positive control) and no cleartext GRE."""
    esp = sum(1 for p in packets if p.proto == "ESP")
    gre = sum(1 for p in packets if p.proto == "GRE")
    if esp == 0:
        raise CheckFailed(f"capture on {transport} saw no ESP during {traffic} "
                          "(positive control failed: no evidence either way)")
    if gre:
        raise CheckFailed(f"capture on {transport} saw {gre} cleartext GRE packets during {traffic}")
    return f"{len(packets)} packets captured on {transport}: {esp} ESP, 0 cleartext GRE"


def transport_sees_only_esp(design: Design, src: Site, dst: Site) -> Check:
    """src's LAN pings dst's (a hub, or a spoke it has a direct tunnel to): the transport router sees ESP between
    their NBMA addresses (in UDP behind a PAT) and no cleartext GRE (the capture holds their packets only: other
    pairs' keepalives and BFD would fill it)."""
    transport = design.transport.name
    check_id = "ipsec.transport_capture" if dst.role == "hub" else f"ipsec.transport_capture.{src.name}-{dst.name}"

    def probe(ctx: Context) -> str:
        def traffic() -> None:
            ctx.fact(src.name, "ping", count=20, interval=0.2, source=src.lan.ip, target=dst.lan.ip)

        between = {"seconds": 8, "count": 40, "a": src.nbma, "b": dst.nbma}
        [packets] = captured_during(ctx, [(transport, "capture_between", between)], traffic)
        return esp_only(packets, transport, f"{src.name} pinging {dst.name}")

    return Check(check_id, f"the transport router {transport} sees {src.name}-{dst.name} traffic as ESP, no "
                 "cleartext GRE", (transport, src.name), probe, deadline_s=TRAFFIC(design))


def rekeyed(pairs: list[tuple[Site, Site]], times: int = 2) -> Callable[[Context], str]:
    """A condition that holds once the CHILD SAs of each (node, peer) pair were replaced `times` times: a
    generation of inbound SPIs ends when a look at the node finds none of them left (an SA made by a
    simultaneous initiation rekeys on its own, and counts with its twin). Looks must come more often than the
    SA lifetime; the SPIs seen are kept in the check's memory."""

    def condition(ctx: Context) -> str:
        generations: dict[str, list[set[str]]] = ctx.memory.setdefault("spi_generations", {})

        def one(pair: tuple[Site, Site]) -> str | None:
            node, peer = pair
            spis = {c.spi_in for sa in ctx.fact(node.name, "ike_sas") if sa.remote == peer.nbma
                    and sa.state == UP for c in sa.children if c.state == UP and c.spi_in}
            seen = generations.setdefault(f"{node.name}-{peer.name}", [])
            if spis and (not seen or not spis & seen[-1]):
                seen.append(spis)
            elif spis:
                seen[-1] |= spis
            if len(seen) <= times:
                raise CheckFailed(f"{node.name}-{peer.name}: {max(len(seen) - 1, 0)} of {times} rekeys seen")
            return None

        try:
            ctx.each(pairs, one)
        finally:
            ctx.measurements["spi_generations"] = {pair: [sorted(g) for g in seen]
                                                   for pair, seen in generations.items()}
        return "; ".join(f"{pair}: SPIs {' -> '.join('/'.join(sorted(g)) for g in seen)}"
                         for pair, seen in generations.items())

    return condition
