"""Spokes behind their own PAT: a hub maps each to the PAT's outside address while the spoke claims its inside one,
its IKE and ESP ride UDP (NAT traversal) where a public spoke's stay on port 500 and plain ESP (the control),
traffic crosses the PAT both ways, and a shortcut from a spoke behind a PAT to a public spoke carries traffic."""

from __future__ import annotations

from ipaddress import IPv4Address

from labkit.design.model import Design, Site
from labkit.plan import plan_design
from labkit.verify.checks import failover
from labkit.verify.checks.ipsec import installed_in
from labkit.verify.deadlines import LOOK, SHORTCUT, TRAFFIC
from labkit.verify.engine import Check, CheckFailed, Context
from labkit.verify.state import UP, IkeSa

IKE_PORT = 500  # IKE's own port; NAT traversal moves it to 4500 (or the PAT's translation of 4500)
# what these checks need a platform's outputs to show (a platform's `hidden:` names those it does not)
CLAIMED_NBMA = "claimed_nbma"  # the NBMA address a peer claims, beside the one it is seen at (NHRP cache)
IKE_PORT_SHOWN = "ike_port"  # the peer's IKE port of an SA
PINGS = 5


def mapped_outside(design: Design, hub: Site) -> Check:
    """The hub's NHRP cache holds each spoke at the address it sees the spoke at (a PAT's outside address) and the
    address the spoke claims (its plan's NBMA address: behind a PAT, the inside one); a public spoke claims what the
    hub sees (the control: the two columns differ only through a PAT)."""
    plans = plan_design(design)

    def probe(ctx: Context) -> str:
        ctx.require_shown(hub.name, CLAIMED_NBMA)
        entries = {e.protocol: e for e in ctx.fact(hub.name, "nhrp_cache") if e.kind == "dynamic"}
        problems = []
        for spoke in design.spokes:
            entry, claimed = entries.get(spoke.tunnel), plans[spoke.name].nbma
            if entry is None:
                problems.append(f"no dynamic entry for {spoke.name} ({spoke.tunnel})")
            elif entry.claimed is None:
                problems.append(f"{spoke.name}'s entry shows no claimed NBMA address")
            elif (entry.nbma, entry.claimed) != (spoke.nbma, claimed):
                problems.append(f"{spoke.name} at NBMA {entry.nbma} claiming {entry.claimed}, expected {spoke.nbma} "
                                f"claiming {claimed}")
        if problems:
            raise CheckFailed(f"{hub.name}: " + "; ".join(problems))
        natted = len(design.natted_spokes)
        return (f"{natted} spokes behind PATs at their outside addresses, each claiming its inside one; "
                f"{len(design.spokes) - natted} public spokes claim the address {hub.name} sees")

    return Check(f"nat.mapped.{hub.name}", f"{hub.name} maps each spoke behind a PAT to the PAT's outside address, "
                 "the spoke claiming its inside one", (hub.name,), probe, deadline_s=LOOK(design))


def _sa_with(ike_sas: list[IkeSa], node: Site, peer: IPv4Address) -> IkeSa:
    """The established IKE SA of `node` with `peer` holding an installed CHILD SA, or CheckFailed."""
    child = installed_in(ike_sas, node, peer)
    return next(sa for sa in ike_sas if child in sa.children and sa.remote == peer)


def encapsulated(ike_sas: list[IkeSa], node: Site, peer: IPv4Address) -> bool:
    """Whether `node`'s SA with `peer` rides UDP: IKE moved off port 500 and ESP in UDP; CheckFailed if there is no
    such SA, if its listing showed no port, or if the two disagree."""
    sa = _sa_with(ike_sas, node, peer)
    if sa.remote_port is None:
        raise CheckFailed(f"{node.name}: its listing of the SA with {peer} shows no IKE port")
    floated = sa.remote_port != IKE_PORT
    child = next(c for c in sa.children if c.state == UP)
    if floated != child.udp_encap:
        raise CheckFailed(f"{node.name}: the SA with {peer} has IKE on port {sa.remote_port} but ESP "
                          f"{'in UDP' if child.udp_encap else 'plain'}")
    return floated


def _expect(ctx: Context, node: Site, peer: IPv4Address, natted: bool, ike_sas: list[IkeSa] | None = None) -> None:
    """`node`'s SA with `peer` rides UDP if `natted`, else not (its `ike_sas`, or read now); not applicable where the
    platform does not show the peer's IKE port (an ESR)."""
    ctx.require_shown(node.name, IKE_PORT_SHOWN)
    if encapsulated(ctx.fact(node.name, "ike_sas") if ike_sas is None else ike_sas, node, peer) != natted:
        raise CheckFailed(f"{node.name}: the SA with {peer} " + ("does not ride UDP (IKE on port 500, plain ESP), "
                          "though a PAT is on its path" if natted else "rides UDP, though no PAT is on its path"))


def udp_encapsulated(design: Design, hub: Site) -> Check:
    """NAT traversal where a PAT is on the path, and only there: the hub's SA with each spoke behind a PAT has the
    peer's IKE port off 500 (4500, or the PAT's translation of it) and ESP in UDP, and so has the spoke's SA with
    the hub; the hub's SA with a public spoke keeps port 500 and plain ESP (the control)."""

    def probe(ctx: Context) -> str:
        ctx.require_shown(hub.name, IKE_PORT_SHOWN)  # before any command: an ESR is not asked at all
        on_hub = ctx.fact(hub.name, "ike_sas")
        for spoke in design.spokes:
            _expect(ctx, hub, spoke.nbma, natted=spoke.inside is not None, ike_sas=on_hub)

        def spoke_side(spoke: Site) -> None:
            _expect(ctx, spoke, hub.nbma, natted=True)

        ctx.each(design.natted_spokes, spoke_side)
        return (f"IKE on UDP 4500 (or the PAT's port) and ESP in UDP between {hub.name} and "
                f"{len(design.natted_spokes)} spokes behind PATs, both ends; port 500 and plain ESP with the others")

    return Check(f"nat.udp_encapsulated.{hub.name}", f"{hub.name}'s SAs with spokes behind PATs ride UDP (NAT "
                 "traversal), those with public spokes do not", (hub.name, *(s.name for s in design.natted_spokes)),
                 probe, deadline_s=LOOK(design))


def through_pat(design: Design, hub: Site) -> Check:
    """Traffic crosses each spoke's PAT both ways: pings from the spoke's LAN to the hub's and from the hub's LAN to
    the spoke's (which reach the spoke only as the PAT's replies) are answered, and the hub's SA with the spoke,
    in UDP, counts them."""

    def crossed(ctx: Context, spoke: Site) -> None:
        before = installed_in(ctx.fact(hub.name, "ike_sas"), hub, spoke.nbma).packets_in
        answered = 0
        for src, dst in ((spoke, hub), (hub, spoke)):
            [result] = ctx.fact(src.name, "ping", count=PINGS, interval=0.2, source=src.lan.ip, target=dst.lan.ip)
            if result.received < PINGS - 2:
                raise CheckFailed(f"{src.name} -> {dst.name}: {result.received}/{result.sent} answered")
            answered += result.received
        sas = ctx.fact(hub.name, "ike_sas")
        _expect(ctx, hub, spoke.nbma, natted=True, ike_sas=sas)
        grown = installed_in(sas, hub, spoke.nbma).packets_in - before
        if grown < answered:
            raise CheckFailed(f"{hub.name}: its SA with {spoke.name} counted {grown} packets in for {answered} "
                              "answered pings")

    def probe(ctx: Context) -> str:
        ctx.each(design.natted_spokes, lambda spoke: crossed(ctx, spoke))
        return (f"{len(design.natted_spokes)} spokes behind PATs and {hub.name} answer each other's pings both ways, "
                f"over their SAs in UDP")

    return Check(f"nat.through_pat.{hub.name}", f"traffic between {hub.name} and each spoke behind a PAT, both "
                 "ways", (hub.name, *(s.name for s in design.natted_spokes)), probe, deadline_s=TRAFFIC(design))


def outside_closed(design: Design, hub: Site) -> Check:
    """Nothing but a PAT's replies reaches the spoke behind it: pings from the hub's WAN address to each PAT's
    outside address go unanswered, while a public spoke's WAN address answers them (the positive control)."""
    public = [s for s in design.spokes if not s.inside][:1]

    def answered(ctx: Context, spoke: Site) -> int:
        [result] = ctx.fact(hub.name, "ping", count=3, interval=0.2, source=hub.nbma, target=spoke.nbma)
        return result.received

    def probe(ctx: Context) -> str:
        for spoke in public:
            if not answered(ctx, spoke):
                raise CheckFailed(f"positive control: {spoke.name}'s WAN address {spoke.nbma} does not answer "
                                  f"{hub.name} either, so the PATs' silence proves nothing")
        opened = [f"{s.name}'s PAT ({s.nbma})" for s in design.natted_spokes if answered(ctx, s)]
        if opened:
            raise CheckFailed(f"unsolicited pings from {hub.name} answered through {', '.join(opened)}")
        control = f"; {public[0].name} at {public[0].nbma} answers" if public else ""
        return f"pings to {len(design.natted_spokes)} PATs' outside addresses unanswered{control}"

    return Check(f"nat.outside_closed.{hub.name}", "unsolicited traffic to a PAT's outside address reaches nothing",
                 (hub.name,), probe, deadline_s=LOOK(design))


def shortcut_from_behind(design: Design, src: Site, dst: Site) -> Check:
    """A spoke behind a PAT builds a shortcut to a public spoke (its shortcuts cleared first): every packet of a
    burst is answered over it, the path is one overlay hop, and the pair's SA rides UDP on both ends (the public
    spoke reaches the other at its PAT's outside address)."""
    fresh, flowing, direct = (failover.fresh_shortcut(src, dst), failover.flowing_over_shortcut(src, dst),
                              failover.still_direct(src, dst))

    def probe(ctx: Context) -> str:
        built = fresh(ctx)  # "<src> has a shortcut to <dst>'s LAN, built just now"
        listed = built.partition(", ")[0]
        answered = flowing(ctx).removeprefix(f"{listed}, ")  # "all N pings answered": the shortcut said once
        details = [built, f"{answered} over it", direct(ctx)]
        _expect(ctx, src, dst.nbma, natted=True)
        _expect(ctx, dst, src.nbma, natted=True)
        return "; ".join([*details, f"their SA rides UDP on both ends ({dst.name} reaches {src.name} at {src.nbma})"])

    return Check(f"nat.shortcut.{src.name}-{dst.name}", f"{src.name}, behind a PAT, builds a shortcut to {dst.name} "
                 "that carries traffic", (src.name, dst.name), probe, deadline_s=SHORTCUT(design), retry_every_s=3,
                 alone=True)
