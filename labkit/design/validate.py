"""The rules that span fields of a valid design, in order, each recording its problems: unique names and
addresses, distinct networks, what hubs, HQ, NAT, MPLS, failover, misconfigurations, edge cases and phases need.
A rule is a function (problems, design, line) -> None, `line(key)` the line of a top-level key and `line.of(site)` a
hub's or spoke's own; adding a rule is adding it to RULES."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from labkit.design.fields import Problems
from labkit.design.model import Design, EdgeCase, Site
from labkit.design.pools import WAN_LINK_PREFIXLEN, larger, room


@dataclass(frozen=True)
class Line:
    """Where the design wrote something: a top-level key, or a hub or spoke (its own list item; a spoke derived
    from `spokes.count`, that key's line)."""

    key_line: Callable[[str], int | None]
    site_lines: Mapping[str, int | None]  # by node name

    def __call__(self, key: str) -> int | None:
        return self.key_line(key)

    def of(self, site: Site) -> int | None:
        return self.site_lines.get(site.name) or self(_section(site.role))


Rule = Callable[[Problems, Design, Line], None]


def _section(site_role: str) -> str:
    return "spokes" if site_role == "spoke" else "hubs"


def names_unique(problems: Problems, design: Design, line: Line) -> None:
    """Every node has its own name: the transport router, hubs, spokes (the HQ router's is checked with HQ)."""
    seen = {design.transport.name: "underlay.transport"}
    for site in design.sites:
        if site.name in seen:
            problems.add(line.of(site), f"{site.role} {site.name}",
                         f"duplicate node name (also used by {seen[site.name]}); give every node its own name")
        seen[site.name] = f"{site.role} {site.name}"


def tunnel_addresses_unique(problems: Problems, design: Design, line: Line) -> None:
    """Every node has its own tunnel address (a cluster's units share theirs)."""
    tunnels: dict[IPv4Address, str] = {}
    for site in (design.nhs + design.spokes) if design.cluster else design.sites:
        if site.tunnel in tunnels:
            problems.add(line.of(site), f"{site.name}.tunnel",
                         f"duplicate tunnel address {site.tunnel} (also {tunnels[site.tunnel]}); give each its own")
        tunnels[site.tunnel] = site.name


def hubs_meet_at_headquarters(problems: Problems, design: Design, line: Line) -> None:
    """Several hubs need an HQ core router joining their LANs, each hub's LAN on its segment at its own address;
    the HQ router's name is not another node's."""
    hq = design.headquarters
    if hq is None:
        if len(design.hubs) > 1:
            problems.add(line("hubs"), "headquarters", f"{len(design.hubs)} hubs need a 'headquarters' "
                         "core router joining their LANs (name, address, lan), so HQ stays reachable via any hub")
        return
    names = {design.transport.name: "underlay.transport"} | {s.name: f"{s.role} {s.name}" for s in design.sites}
    if hq.name in names:
        problems.add(line("headquarters"), "headquarters.name",
                     f"duplicate node name (also used by {names[hq.name]}); give every node its own name")
    used = {hq.address.ip: "headquarters.address"}
    for hub in design.hubs:
        if hub.lan.network != hq.address.network:
            problems.add(line.of(hub), f"hubs: {hub.name}.lan", f"{hub.lan} is not on the HQ segment "
                         f"{hq.address.network} of headquarters.address; put every hub's lan in it")
        elif hub.lan.ip in used:
            problems.add(line.of(hub), f"hubs: {hub.name}.lan", f"{hub.lan.ip} is already used by "
                         f"{used[hub.lan.ip]}; give the hub a free address of {hq.address.network}")
        used[hub.lan.ip] = f"hub {hub.name}"


def nat_fits(problems: Problems, design: Design, line: Line) -> None:
    """Spokes behind PATs go with one hub, and a cloud with shortcuts keeps a public spoke (two spokes behind PATs
    build no direct tunnel, so its spoke-to-spoke story needs one)."""
    if not design.nat:
        return
    if len(design.hubs) != 1:
        problems.add(line("nat"), "nat", f"spokes behind PATs need a design with one hub, found {len(design.hubs)}: "
                     "the hub pair's and the cluster's fault cases pick spoke-to-spoke pairs that two PATs would "
                     "break; use one hub")
    if design.phase >= 2 and len(design.natted_spokes) == len(design.spokes):
        problems.add(line("nat"), "nat.spokes", f"every spoke is behind a PAT, but phase {design.phase} is about "
                     "spoke-to-spoke tunnels and two spokes behind PATs cannot build one; leave a spoke public")


def mpls_fits(problems: Problems, design: Design, line: Line) -> None:
    """MPLS needs one hub (the VPN relay), distinct VRF names and ids, and pools with room for the spokes."""
    if not design.mpls:
        return
    at = line("mpls")
    if len(design.hubs) != 1:
        problems.add(at, "mpls", f"MPLS over DMVPN relays spoke-to-spoke VPN traffic through one hub; "
                     f"found {len(design.hubs)} hubs, use one")
    for key in ("name", "id"):
        values = [getattr(v, key) for v in design.mpls.vrfs]
        for value in {v for v in values if values.count(v) > 1}:
            problems.add(at, f"mpls.vrfs.{key}", f"{value} is used by more than one VRF; make each VRF's {key} unique")
    blocks_needed = len(design.spokes) + 1  # block 0 stays unused, as in spokes.lan_pool
    for vrf in design.mpls.vrfs:
        prefixlen = design.mpls.lan_prefixlen
        space = 2 ** max(prefixlen - vrf.lan_pool.prefixlen, 0) if prefixlen >= vrf.lan_pool.prefixlen else 0
        if space < blocks_needed:
            problems.add(at, f"mpls.vrfs: {vrf.name}.lan_pool", f"{vrf.lan_pool} has room for {max(space - 1, 0)} "
                         f"spoke LANs of /{prefixlen}, {len(design.spokes)} needed; use a larger pool")


def cluster_fits(problems: Problems, design: Design, line: Line) -> None:
    """The sync network holds the sync bridge's VRRP address and both units' (a /29 at least); the HQ segment's VRRP
    address is a free host of it."""
    cluster, hq = design.cluster, design.headquarters
    if not cluster:
        return
    if cluster.sync_network.prefixlen > 29:
        problems.add(line("cluster"), "cluster.sync_network", f"{cluster.sync_network} has no room for the sync "
                     "bridge's VRRP address and both units' (hosts 1-3); use a /29 or larger")
    segment = design.hubs[0].lan.network
    taken = {h.lan.ip: f"hub {h.name}" for h in design.hubs} | ({hq.address.ip: "headquarters.address"} if hq else {})
    if cluster.lan_vip not in segment or cluster.lan_vip in (segment.network_address, segment.broadcast_address):
        problems.add(line("cluster"), "cluster.lan_vip",
                     f"{cluster.lan_vip} is not a host of the hubs' HQ segment {segment}")
    elif cluster.lan_vip in taken:
        problems.add(line("cluster"), "cluster.lan_vip",
                     f"{cluster.lan_vip} is already used by {taken[cluster.lan_vip]}")


def failover_has_two_hubs(problems: Problems, design: Design, line: Line) -> None:
    if design.failover and len(design.hubs) < 2:
        problems.add(line("failover"), "failover", "hub failover needs at least 2 hubs")


def _networks(design: Design, line: Line) -> list[tuple[str, IPv4Network, int | None]]:
    """Every network the design names, with its field and line (distinct networks keep the isolation checks
    exact)."""
    named = [("underlay.wan_pool", design.transport.wan_pool, line("underlay")),
             ("overlay.tunnel_network", design.overlay.tunnel_network, line("overlay")),
             ("spokes.lan_pool", design.routing.spoke_summary, line("spokes"))]
    hq = design.headquarters
    if hq is None:
        named += [(f"hubs: {h.name}.lan", h.lan.network, line.of(h)) for h in design.hubs]
    else:
        named += [("headquarters.address (the hubs' HQ segment)", hq.address.network, line("headquarters")),
                  ("headquarters.lan", hq.lan.network, line("headquarters"))]
    if design.nat:
        named.append(("nat.inside_pool", design.nat.inside_pool, line("nat")))
    for vrf in design.mpls.vrfs if design.mpls else ():
        named += [(f"mpls.vrfs: {vrf.name}.hq_lan", vrf.hq_lan.network, line("mpls")),
                  (f"mpls.vrfs: {vrf.name}.lan_pool", vrf.lan_pool, line("mpls"))]
    if design.cluster:
        named.append(("cluster.sync_network", design.cluster.sync_network, line("cluster")))
    return named


def networks_distinct(problems: Problems, design: Design, line: Line) -> None:
    for (name_a, net_a, _), (name_b, net_b, line_b) in itertools.combinations(_networks(design, line), 2):
        if net_a.overlaps(net_b):
            problems.add(line_b, name_b, f"{net_b} overlaps {name_a} {net_a}; every network must be distinct")


def spoke_lans_fit(problems: Problems, design: Design, line: Line) -> None:
    """Each spoke LAN inside the pool the hub summarises, and no two overlapping."""
    lan_pool = design.routing.spoke_summary
    widest: tuple[IPv4Network, str] | None = None  # of the LANs so far, the one reaching highest
    for spoke in sorted(design.spokes, key=lambda s: (s.lan.network.network_address, -s.lan.network.num_addresses)):
        net = spoke.lan.network
        if not net.subnet_of(lan_pool):
            problems.add(line.of(spoke), f"spokes: {spoke.name}.lan",
                         f"{net} is outside spokes.lan_pool {lan_pool}; the hub's summary would not cover it: give "
                         f"{spoke.name} a LAN inside {lan_pool}, or widen spokes.lan_pool to hold every spoke's LAN")
        if widest and net.network_address <= widest[0].broadcast_address:
            problems.add(line.of(spoke), f"spokes: {spoke.name}.lan",
                         f"{net} overlaps the LAN of {widest[1]} ({widest[0]}); give each spoke a LAN of its own")
        if not widest or net.broadcast_address > widest[0].broadcast_address:
            widest = (net, spoke.name)


def misconfigure_has_a_control(problems: Problems, design: Design, line: Line) -> None:
    if design.misconfigure and len(design.spokes) < 2:
        problems.add(line("misconfigure"), "misconfigure", "proving a misconfigured spoke kept out needs "
                     "at least 2 spokes: the last is misconfigured, the first is the healthy control")


def cases_fit(problems: Problems, design: Design, line: Line) -> None:
    """Each edge case gets the spokes, fields, PATs and phase it needs."""
    for case in design.cases:
        if len(design.spokes) < case.spokes:
            problems.add(line("cases"), "cases", f"{case.name} needs at least {case.spokes} spokes "
                         f"({len(design.spokes)} in the design); set spokes.count to {case.spokes} or more")
        if case.requires and _field(design, case.requires) is None:
            problems.add(line("cases"), "cases", f"{case.name} needs {case.requires} set in the design")
        _case_nat(problems, design, case, line("cases"))
        if design.phase not in case.phases:
            problems.add(line("cases"), "cases", f"{case.name} means something only in phase "
                         f"{' or '.join(map(str, case.phases))}, not in phase {design.phase}; remove it")


def wan_address_change_fits(problems: Problems, design: Design, line: Line) -> None:
    """The case's new lease is free in the pool, and the spoke's sessions outlast the move."""
    if not design.has_case("wan_address_change"):
        return
    spare = design.spare_wan_link().address.network
    taken = [s.wan.network for s in design.sites] + ([design.cluster.segment] if design.cluster else [])
    if any(spare.overlaps(network) for network in taken):
        pool = design.transport.wan_pool
        problems.add(line("cases"), "underlay.wan_pool", f"wan_address_change gives a spoke the pool's "
                     f"last /{WAN_LINK_PREFIXLEN} ({spare}) as its new lease, but a site holds it; "
                     f"{larger(pool, room(pool, WAN_LINK_PREFIXLEN) + 1, WAN_LINK_PREFIXLEN)}")
    _peering_outlasts_a_move(problems, design, line("routing"))


def spoke_to_spoke_has_two_spokes(problems: Problems, design: Design, line: Line) -> None:
    if design.phase in (2, 3) and len(design.spokes) < 2:
        problems.add(line("spokes"), "spokes", f"phase {design.phase} needs at least 2 spokes "
                     "(spoke-to-spoke tunnels are what it is about)")


RULES: tuple[Rule, ...] = (
    names_unique, tunnel_addresses_unique, hubs_meet_at_headquarters, nat_fits, mpls_fits, cluster_fits,
    failover_has_two_hubs,
    networks_distinct, spoke_lans_fit, misconfigure_has_a_control, cases_fit, wan_address_change_fits,
    spoke_to_spoke_has_two_spokes,
)


def validate(problems: Problems, design: Design, line: Line) -> None:
    """Every rule, in order."""
    for rule in RULES:
        rule(problems, design, line)


def _peering_outlasts_a_move(problems: Problems, design: Design, line: int | None) -> None:
    """A spoke whose WAN address changes may be cut off for the case's whole loss budget: its BGP sessions must
    outlast that (a session outlives an outage shorter than its hold time less a keepalive: the last keepalive may
    have come that much earlier), or the move ends them, which the case does not prove (and FRR 8.4.4's hub, still
    clearing the ended dynamic peer when the spoke reconnects, can take the new session onto it and never list
    it: FRR issue 9929)."""
    [case] = [c for c in design.cases if c.name == "wan_address_change"]
    outage_s = case.budget.loss_budget_ms / 1000 if case.budget else 0
    routing = design.routing
    if routing.bfd and routing.bfd.detect_ms / 1000 <= outage_s:
        problems.add(line, "routing.bfd", f"wan_address_change lets a spoke go {outage_s:g} s without traffic (its "
                     f"loss budget), but BFD declares a peer down after {routing.bfd.detect_ms} ms: the move would "
                     "end the spoke's BGP sessions; prove the case in a design without routing.bfd")
    elif routing.holdtime - routing.keepalive <= outage_s:
        hold = 3 * (int(outage_s) // 2 + 1)
        problems.add(line, "routing.holdtime", f"wan_address_change lets a spoke go {outage_s:g} s without traffic "
                     f"(its loss budget), but a BGP session with keepalive {routing.keepalive} s and holdtime "
                     f"{routing.holdtime} s may end after {routing.holdtime - routing.keepalive} s: the move would "
                     f"end the spoke's sessions; set routing.keepalive to {hold // 3} and routing.holdtime to "
                     f"{hold} or more")


def _case_nat(problems: Problems, design: Design, case: EdgeCase, line: int | None) -> None:
    """A case about spokes behind PATs needs that many of them; any other case was proven on public spokes only,
    so the spokes it uses (the first `case.spokes`) must not sit behind `nat:`."""
    natted = design.natted_spokes
    if case.nat_spokes and len(natted) < case.nat_spokes:
        problems.add(line, "cases", f"{case.name} needs {case.nat_spokes} spokes behind their own PATs "
                     f"({len(natted)} in the design); list them under nat.spokes")
    used = [s.name for s in design.spokes[:case.spokes] if s.inside]
    if not case.nat_spokes and used:
        problems.add(line, "cases", f"{case.name} uses the first {case.spokes} spokes and is proven with public WAN "
                     f"addresses only, but {' and '.join(used)} {'is' if len(used) == 1 else 'are'} behind a PAT "
                     f"(nat.spokes); put the spokes behind PATs after the first {case.spokes}, or drop {case.name}")


def _field(design: Design, path: str) -> object:
    """A design field by its dotted path (ipsec.sa_lifetime)."""
    value: object = design
    for name in path.split("."):
        value = getattr(value, name)
    return value
