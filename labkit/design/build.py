"""Design file -> validated Design: field checks, derived addressing, then cross-field rules."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any

from labkit.design import spec
from labkit.design.catalog import esr_models
from labkit.design.fields import DEFAULT, Fields, Problems
from labkit.design.loader import apply_overrides, load_yaml, parse_override
from labkit.design.model import (
    Bfd,
    Cluster,
    Design,
    EdgeCase,
    Failover,
    Headquarters,
    Ipsec,
    Mpls,
    Nat,
    Overlay,
    Proposal,
    Routing,
    Site,
    Transport,
    Vrf,
    WanLink,
)
from labkit.design.pools import (
    SPOKE_TUNNEL_OFFSET,
    WAN_LINK_PREFIXLEN,
    larger,
    prefixlen_for,
    room,
)
from labkit.errors import DesignError


def load_design(path: str | Path, overrides: Sequence[str] = ()) -> Design:
    """Load a design file, set the fields `overrides` give (`FIELD=VALUE`, in order), and validate the result
    once; raise DesignError listing every problem found."""
    source = Path(path)
    parsed = [parse_override(given) for given in overrides]
    raw = apply_overrides(source, load_yaml(source), parsed)
    problems = Problems(source, {o.field: o.given for o in parsed})
    design = _build(problems, raw)
    if problems.lines or design is None:
        raise DesignError(problems.lines or [f"{source}: the design is empty"])
    return replace(design, overrides=tuple(overrides))


def _proposal(fields: Fields, esp: bool) -> Proposal | None:
    encryption = spec.take(fields, "encryption")
    if esp and encryption and encryption.endswith("gcm16"):  # an AEAD cipher: no integrity algorithm unless given
        integrity = spec.take(fields, "integrity", default=None)
    else:
        integrity = spec.take(fields, "integrity")
    dh_group = spec.take(fields, "dh_group")
    fields.finish()
    if encryption is None:
        return None
    return Proposal(encryption=encryption, integrity=integrity, dh_group=dh_group)


def _build(problems: Problems, raw: Any) -> Design | None:
    top = Fields(problems, raw, "")
    if not top.ok:
        return None
    lab = spec.take(top, "lab")
    scenario = spec.take(top, "scenario")  # a label: it selects nothing
    description = spec.take(top, "description")
    phase = spec.take(top, "phase")

    under = top.fields("underlay")
    transport_name = spec.take(under, "transport")
    wan_pool = spec.take(under, "wan_pool", default=DEFAULT)
    under.finish()

    ov = top.fields("overlay")
    tunnel_network = spec.take(ov, "tunnel_network", default=DEFAULT)
    overlay_settings = spec.take_each(ov, "gre_key", "nhrp_network_id", "holdtime", "mtu", "tcp_mss")
    ov.finish()

    ipsec = _ipsec(top.fields("ipsec"))
    routing_settings = _routing_settings(top.fields("routing"), phase)
    hubs = _hubs(top, problems)
    headquarters = _headquarters(top.fields("headquarters", required=False)) if top.has("headquarters") else None
    failover = _failover(top.fields("failover", required=False)) if top.has("failover") else None
    cluster_settings = _cluster_settings(top.fields("cluster", required=False)) if top.has("cluster") else None
    mpls = _mpls(top.fields("mpls", required=False)) if top.has("mpls") else None
    misconfigure = spec.take(top, "misconfigure")
    cases = spec.take(top, "cases")
    nat_fields = top.fields("nat", required=False) if top.has("nat") else None
    nat_settings = _nat_settings(nat_fields) if nat_fields else None
    spokes_fields = top.fields("spokes")
    lan_pool = spec.take(spokes_fields, "lan_pool", default=DEFAULT)
    spokes, lan_prefixlen = _spoke_entries(spokes_fields)
    spokes_fields.finish()
    top.finish()

    # Derived values only from fields that are all valid: a wrong value is reported once, where it is.
    if problems.lines or None in (tunnel_network, wan_pool, lan_pool, phase) or not hubs:
        return None
    if not _lan_prefixlen_fits(spokes_fields, lan_pool, lan_prefixlen):
        return None
    pools = [
        Pool("underlay.wan_pool", wan_pool, under.key_line("wan_pool"), WAN_LINK_PREFIXLEN,
             len(hubs), "a /30 link per site, hubs first", len(spokes)),
        Pool("overlay.tunnel_network", tunnel_network, ov.key_line("tunnel_network"), 32,
             SPOKE_TUNNEL_OFFSET + 2, f"spoke N is host {SPOKE_TUNNEL_OFFSET}+N", _last_derived(spokes, "tunnel")),
        Pool("spokes.lan_pool", lan_pool, spokes_fields.key_line("lan_pool"), lan_prefixlen,
             1, f"spoke N gets the Nth /{lan_prefixlen}", _last_derived(spokes, "lan")),
    ]
    listed = "count" if spokes_fields.has("count") else "nodes"
    wan_pool, tunnel_network, lan_pool = (_pool(problems, (spokes_fields.key_line(listed), f"spokes.{listed}"), pool)
                                          for pool in pools)
    if problems.lines:
        return None
    transport = Transport(name=transport_name, wan_pool=wan_pool)
    overlay = Overlay(tunnel_network=tunnel_network, **overlay_settings)
    routing = Routing(**routing_settings, spoke_summary=lan_pool)
    _spoke_lans(spokes_fields, spokes, lan_pool, lan_prefixlen)
    cluster = _cluster(problems, cluster_settings, transport, hubs) if cluster_settings else None
    if cluster:
        hubs = _place_units(hubs, cluster, overlay)
        spokes = _place(problems, "spokes", spokes, transport, overlay, first=SPOKE_TUNNEL_OFFSET + 1,
                        offset=cluster.segment.num_addresses // 4)
    else:
        hubs = _place(problems, "hubs", hubs, transport, overlay, first=1)
        spokes = _place(problems, "spokes", spokes, transport, overlay, first=SPOKE_TUNNEL_OFFSET + 1,
                        offset=len(hubs))
    nat = _behind_pats(problems, nat_fields, nat_settings, hubs, spokes) if nat_fields else None
    if problems.lines:
        return None
    if nat:
        spokes = _inside_links(spokes, nat)
    design = Design(
        source=problems.source, lab=lab, scenario=scenario, description=description, phase=phase,
        transport=transport, overlay=overlay, ipsec=ipsec, routing=routing,
        hubs=tuple(hubs), spokes=tuple(spokes), headquarters=headquarters, failover=failover, cluster=cluster,
        mpls=mpls, misconfigure=misconfigure, cases=cases, nat=nat,
    )
    _cross_checks(problems, design, top, lan_pool)
    return design


@dataclass(frozen=True)
class Pool:
    """An address pool of the design: its field, its value (or DEFAULT: the field's declared default), and how
    spokes take blocks of it."""

    path: str
    value: Any  # IPv4Network, or DEFAULT
    line: int | None
    block_prefixlen: int  # one block per spoke
    reserved: int  # blocks before the first spoke's
    rule: str
    spokes: int  # the number of the last spoke taking a block


def _pool(problems: Problems, need: tuple[int | None, str], pool: Pool) -> IPv4Network | None:
    """The pool's network (the default if none is given); None after recording that it is too small for
    its spokes, and what to set; `need` is where the spokes are given, for a default too small."""
    value = spec.field_at(pool.path).default if pool.value is DEFAULT else pool.value
    spokes = pool.spokes
    blocks = pool.reserved + spokes
    capacity = room(value, pool.block_prefixlen) - pool.reserved
    if capacity >= spokes:
        return value
    if pool.value is DEFAULT:
        problems.add(*need, f"{spokes} spokes do not fit the default {pool.path} {value} (room for {capacity}: "
                     f"{pool.rule}); set {pool.path} to a /{prefixlen_for(blocks, pool.block_prefixlen)} or larger "
                     "network")
    else:
        problems.add(pool.line, pool.path, f"{value} has room for {max(capacity, 0)} spokes ({pool.rule}), "
                     f"{spokes} needed; {larger(value, blocks, pool.block_prefixlen)}")
    return None


def _last_derived(spokes: list[dict], key: str) -> int:
    """The number of the last spoke whose `key` address is derived from its number."""
    return max((n for n, spoke in enumerate(spokes, start=1) if spoke[key] is None), default=0)


def _ipsec(fields: Fields) -> Ipsec | None:
    ike = _proposal(fields.fields("ike_proposal"), esp=False)
    esp = _proposal(fields.fields("esp_proposal"), esp=True)
    ipsec = Ipsec(
        ike_version=spec.take(fields, "ike_version"),
        ike_proposal=ike,
        esp_proposal=esp,
        **spec.take_each(fields, "mode", "psk", "dpd_interval", "dpd_timeout", "ike_lifetime", "sa_lifetime"),
    )
    _lifetimes_ordered(fields, ipsec)
    fields.finish()
    return ipsec


def _lifetimes_ordered(fields: Fields, ipsec: Ipsec) -> None:
    """An IPsec SA lifetime, when both are given, is shorter than the IKE SA's; records the problem if not."""
    ike_s, sa_s = ipsec.ike_lifetime, ipsec.sa_lifetime
    if ike_s and sa_s and sa_s >= ike_s:
        fields.problems.add(fields.key_line("sa_lifetime"), fields.sub("sa_lifetime"),
                            f"must be shorter than ipsec.ike_lifetime ({ike_s}), found {sa_s}: the IPsec SAs are "
                            f"rekeyed through the IKE SA, which should outlive them; set sa_lifetime below {ike_s} "
                            f"or ike_lifetime above {sa_s}")


def _nat_settings(fields: Fields) -> tuple[list[str] | None, Any]:
    """The `nat` section: its spoke names (checked against the spokes once they are known) and inside pool (or
    DEFAULT)."""
    settings = spec.take(fields, "spokes"), spec.take(fields, "inside_pool", default=DEFAULT)
    fields.finish()
    return settings


def _behind_pats(problems: Problems, fields: Fields, settings: tuple[list[str] | None, Any], hubs: list[Site],
                 spokes: list[Site]) -> Nat | None:
    """The spokes named in `nat.spokes`, each behind its own PAT; None after recording why not."""
    names, pool_value = settings
    if names is None or pool_value is None:
        return None
    line, numbers = fields.key_line("spokes"), {s.name: n for n, s in enumerate(spokes, start=1)}
    for name in names:
        if name in {h.name for h in hubs}:
            problems.add(line, "nat.spokes", f"{name} is a hub; only spokes sit behind a PAT here (every spoke "
                         "reaches a hub at its own WAN address); remove it")
        elif name not in numbers:
            listed = ", ".join([*numbers][:5]) + (", ..." if len(numbers) > 5 else "")
            problems.add(line, "nat.spokes", f"no spoke is named {name!r}; the spokes are {listed}")
    if problems.lines:
        return None
    pool = _pool(problems, (line, "nat.spokes"), Pool(
        "nat.inside_pool", pool_value, fields.key_line("inside_pool"), WAN_LINK_PREFIXLEN, 1,
        f"spoke N's link to its PAT is the Nth /{WAN_LINK_PREFIXLEN}", max(numbers[n] for n in names)))
    return Nat(inside_pool=pool, spokes=tuple(names)) if pool else None


def _inside_links(spokes: list[Site], nat: Nat) -> list[Site]:
    """Each spoke behind a PAT gets the Nth /30 of the inside pool (N: its number; block 0 stays unused, as in
    spokes.lan_pool): the PAT's inside address first, then the spoke's."""
    size = 2 ** (32 - WAN_LINK_PREFIXLEN)
    placed = []
    for number, spoke in enumerate(spokes, start=1):
        if spoke.name in nat.spokes:
            first = nat.inside_pool.network_address + number * size + 1
            gateway, address = (IPv4Interface((host, WAN_LINK_PREFIXLEN)) for host in (first, first + 1))
            spoke = replace(spoke, inside=WanLink(address, gateway))
        placed.append(spoke)
    return placed


def _headquarters(fields: Fields) -> Headquarters:
    hq = Headquarters(**spec.take_each(fields, "name", "address", "lan"))
    fields.finish()
    return hq


def _cluster_settings(fields: Fields) -> tuple[dict[str, Any], int | None]:
    """The cluster section's fields (`lan_vip` None when derived), and its line."""
    settings = spec.take_each(fields, "vrrp_id", "advert_ms", "sync_network")
    settings["lan_vip"] = spec.take(fields, "lan_vip", default=None)
    fields.finish()
    return settings, fields.line


def _cluster(problems: Problems, settings: tuple[dict[str, Any], int | None], transport: Transport,
             hubs: list[dict]) -> Cluster | None:
    given, line = settings
    if len(hubs) != 2:
        problems.add(line, "cluster", f"an Active/Standby cluster has exactly 2 hub units, found {len(hubs)}")
        return None
    segment = next(transport.wan_pool.subnets(new_prefix=29))  # gateway .1, shared address .2, units .3, .4
    lan_vip = given["lan_vip"] or hubs[0]["lan"].network[-2]  # the HQ segment's last host
    return Cluster(segment=segment, vip=segment[2], **given | {"lan_vip": lan_vip})


def _place_units(entries: list[dict], cluster: Cluster, overlay: Overlay) -> list[Site]:
    """Cluster units: addresses .3 and .4 of the shared WAN segment, the same tunnel address."""
    tunnel = entries[0]["tunnel"] or overlay.tunnel_network[1]
    return [
        Site(name=e["name"], role="hub", model=e["model"], wan=IPv4Interface(f"{cluster.segment[2 + n]}/29"),
             wan_gateway=cluster.segment[1], tunnel=tunnel, lan=e["lan"], vip=cluster.vip)
        for n, e in enumerate(entries, start=1) if None not in (e["name"], e["model"], e["lan"])
    ]


def _mpls(fields: Fields) -> Mpls:
    mpls = Mpls(
        lan_prefixlen=spec.take(fields, "lan_prefixlen"),
        vrfs=tuple(v for v in (_vrf(Fields(fields.problems, item, path, line))
                               for path, line, item in fields.items("vrfs")) if v),
    )
    if not mpls.vrfs and not fields.problems.lines:
        fields.problems.add(fields.key_line("vrfs") or fields.line, fields.sub("vrfs"),
                            "needs at least one VRF, e.g. {name: CORP, id: 10, hq_lan: 10.10.0.1/24, "
                            "lan_pool: 172.20.0.0/16}")
    fields.finish()
    return mpls


def _vrf(fields: Fields) -> Vrf | None:
    if not fields.ok:
        return None
    vrf = Vrf(**spec.take_each(fields, "name", "id", "hq_lan", "lan_pool"))
    fields.finish()
    return vrf if None not in (vrf.name, vrf.id, vrf.hq_lan, vrf.lan_pool) else None


def _failover(fields: Fields) -> Failover:
    failover = Failover(**spec.take_each(fields, "loss_budget_ms", "probe_interval_ms"))
    fields.finish()
    return failover


def _bfd(fields: Fields) -> Bfd:
    bfd = Bfd(**spec.take_each(fields, "interval_ms", "multiplier"))
    fields.finish()
    return bfd


def _routing_settings(fields: Fields, phase: int | None) -> dict[str, Any]:
    """The routing section; the spoke summary is spokes.lan_pool, known once the spokes are."""
    routing = spec.take_each(fields, "protocol", "asn", "keepalive", "holdtime")
    routing |= dict(
        hub_advertises=spec.take(fields, "hub_advertises", default=spec.DEFAULT_ADVERTISE.get(phase, "all")),
        bfd=_bfd(fields.fields("bfd", required=False)) if fields.has("bfd") else None,
    )
    if phase == 2 and routing["hub_advertises"] != "all":
        fields.problems.add(fields.key_line("hub_advertises"), fields.sub("hub_advertises"),
                            "phase 2 needs every spoke LAN with the spoke's own next hop; use 'all'")
    if routing["keepalive"] and routing["holdtime"] and routing["holdtime"] < 3 * routing["keepalive"]:
        fields.problems.add(fields.key_line("holdtime"), fields.sub("holdtime"),
                            f"must be at least 3 x keepalive ({3 * routing['keepalive']})")
    fields.finish()
    return routing


def _site_fields(problems: Problems, path: str, line: int | None, item: Any) -> dict | None:
    fields = Fields(problems, item, path, line)
    if not fields.ok:
        return None
    entry = spec.take_each(fields, "name", "model", "lan", "tunnel") | {"path": path, "line": line}
    fields.finish()
    return entry


def _hubs(top: Fields, problems: Problems) -> list[dict]:
    items = top.items("hubs")
    if top.mapping.get("hubs") == []:
        problems.add(top.key_line("hubs"), "hubs", "needs at least one hub")
    hubs = [_site_fields(problems, path, line, item) for path, line, item in items]
    return [h for h in hubs if h]


def _spoke_entries(fields: Fields) -> tuple[list[dict], int | None]:
    """Explicit `nodes`, or `count` spokes derived deterministically (names, models cycled); and the prefix
    length of their LANs. Reads every field whatever the others hold, so that none is reported unknown."""
    problems = fields.problems
    prefixlen = spec.take(fields, "lan_prefixlen")
    if fields.has("nodes") == fields.has("count"):
        if fields.ok:
            problems.add(fields.line, fields.path, "give exactly one of 'count' (derived spokes) or 'nodes' (a list)")
        fields.taken.update({"nodes", "count", "models"})
        return [], prefixlen
    if fields.has("nodes"):
        fields.taken.add("models")  # reported below as not going with 'nodes'
        if fields.has("models"):
            problems.add(fields.key_line("models"), fields.sub("models"),
                         "goes with 'count'; with 'nodes' give each node its model")
        spokes = [_site_fields(problems, path, line, item) for path, line, item in fields.items("nodes")]
        return [s for s in spokes if s], prefixlen
    count, models = spec.take(fields, "count"), spec.take(fields, "models")
    if not count or not models:
        return [], prefixlen
    catalog = esr_models()
    for name in models:
        if name not in catalog or "spoke" not in catalog[name].roles:
            fit = [n for n, m in catalog.items() if "spoke" in m.roles]
            problems.add(fields.key_line("models"), fields.sub("models"),
                         f"{name!r} is not a spoke model; use some of: {', '.join(fit)}")
            return [], prefixlen
    return [
        {"name": f"spoke{n}", "model": catalog[model], "lan": None, "tunnel": None,
         "path": f"{fields.path}.count", "line": fields.key_line("count")}
        for n, model in zip(range(1, count + 1), itertools.cycle(models), strict=False)
    ], prefixlen


def _lan_prefixlen_fits(fields: Fields, lan_pool: Any, prefixlen: int) -> bool:
    """A given spokes.lan_pool must be larger than each spoke LAN; records the problem if not."""
    if lan_pool is DEFAULT or prefixlen > lan_pool.prefixlen:
        return True
    fields.problems.add(fields.key_line("lan_prefixlen"), fields.sub("lan_prefixlen"),
                        f"must be longer than the pool's /{lan_pool.prefixlen} (spokes.lan_pool {lan_pool})")
    return False


def _spoke_lans(fields: Fields, spokes: list[dict], lan_pool: IPv4Network, prefixlen: int) -> None:
    """Give each spoke without a `lan` block N of the pool (block 0 stays unused, so that spoke N gets
    172.16.N.0/24 in a /16 pool); the pool's room was checked before."""
    subnets = lan_pool.subnets(new_prefix=prefixlen)
    next(subnets, None)
    for spoke, subnet in zip(spokes, subnets, strict=False):
        if spoke["lan"] is None:
            spoke["lan"] = IPv4Interface(f"{next(subnet.hosts())}/{subnet.prefixlen}")


def _place(problems: Problems, role_path: str, entries: list[dict], transport: Transport, overlay: Overlay,
           first: int, offset: int = 0) -> list[Site]:
    """Give each site its WAN /30 (from the pool, in order) and tunnel address."""
    links = list(itertools.islice(transport.wan_pool.subnets(new_prefix=WAN_LINK_PREFIXLEN), offset,
                                  offset + len(entries)))  # the pools' room was checked before
    role = "hub" if role_path == "hubs" else "spoke"
    sites = []
    for n, entry in enumerate(entries, start=1):
        tunnel = entry["tunnel"]
        if tunnel is None:
            host = first + n - 1
            if role == "hub" and host >= SPOKE_TUNNEL_OFFSET:
                problems.add(entry["line"], f"{entry['path']}.tunnel", f"is required past {SPOKE_TUNNEL_OFFSET - 1} "
                             f"hubs: derived hub tunnel addresses are hosts 1-{SPOKE_TUNNEL_OFFSET - 1}, "
                             f"spoke N is host {SPOKE_TUNNEL_OFFSET}+N")
                continue
            tunnel = overlay.tunnel_network[host]
        elif tunnel not in overlay.tunnel_network or tunnel in (
            overlay.tunnel_network.network_address, overlay.tunnel_network.broadcast_address):
            problems.add(entry["line"], f"{entry['path']}.tunnel",
                         f"{tunnel} is outside the overlay {overlay.tunnel_network} (or not a host address)")
        if None in (entry["name"], entry["model"], entry["lan"]):
            continue
        wan_gw, wan = list(links[n - 1].hosts())
        sites.append(Site(
            name=entry["name"], role=role, model=entry["model"],
            wan=IPv4Interface(f"{wan}/30"), wan_gateway=wan_gw, tunnel=tunnel, lan=entry["lan"],
        ))
    return sites


def _cross_checks(problems: Problems, design: Design, top: Fields, lan_pool: IPv4Network) -> None:
    """Rules that span fields: unique names and addresses, no overlapping networks, phase needs."""
    seen: dict[str, str] = {design.transport.name: "underlay.transport"}
    for site in design.sites:
        if site.name in seen:
            problems.add(top.key_line("spokes" if site.role == "spoke" else "hubs"), f"{site.role} {site.name}",
                         f"duplicate node name (also used by {seen[site.name]}); give every node its own name")
        seen[site.name] = f"{site.role} {site.name}"
    tunnels: dict[IPv4Address, str] = {}
    for site in (design.nhs + design.spokes) if design.cluster else design.sites:
        if site.tunnel in tunnels:
            problems.add(top.key_line("spokes" if site.role == "spoke" else "hubs"), f"{site.name}.tunnel",
                         f"duplicate tunnel address {site.tunnel} (also {tunnels[site.tunnel]})")
        tunnels[site.tunnel] = site.name
    named: list[tuple[str, IPv4Network, int | None]] = [
        ("underlay.wan_pool", design.transport.wan_pool, top.key_line("underlay")),
        ("overlay.tunnel_network", design.overlay.tunnel_network, top.key_line("overlay")),
        ("spokes.lan_pool", lan_pool, top.key_line("spokes")),
    ]
    hq = design.headquarters
    if hq is None:
        named += [(f"hubs: {h.name}.lan", h.lan.network, top.key_line("hubs")) for h in design.hubs]
        if len(design.hubs) > 1:
            problems.add(top.key_line("hubs"), "headquarters", f"{len(design.hubs)} hubs need a 'headquarters' "
                         "core router joining their LANs (name, address, lan), so HQ stays reachable via any hub")
    else:
        seen_hq = seen.get(hq.name)
        if seen_hq:
            problems.add(top.key_line("headquarters"), "headquarters.name",
                         f"duplicate node name (also used by {seen_hq}); give every node its own name")
        named += [("headquarters.address (the hubs' HQ segment)", hq.address.network, top.key_line("headquarters")),
                  ("headquarters.lan", hq.lan.network, top.key_line("headquarters"))]
        used = {hq.address.ip: "headquarters.address"}
        for hub in design.hubs:
            if hub.lan.network != hq.address.network:
                problems.add(top.key_line("hubs"), f"hubs: {hub.name}.lan", f"{hub.lan} is not on the HQ segment "
                             f"{hq.address.network} of headquarters.address; put every hub's lan in it")
            elif hub.lan.ip in used:
                problems.add(top.key_line("hubs"), f"hubs: {hub.name}.lan",
                             f"{hub.lan.ip} is already used by {used[hub.lan.ip]}")
            used[hub.lan.ip] = f"hub {hub.name}"
    if design.nat:
        named.append(("nat.inside_pool", design.nat.inside_pool, top.key_line("nat")))
        _nat_checks(problems, design, top.key_line("nat"))
    if design.mpls:
        named += _mpls_checks(problems, design, top)
    if design.cluster:
        named.append(_cluster_checks(problems, design, top.key_line("cluster")))
    if design.failover and len(design.hubs) < 2:
        problems.add(top.key_line("failover"), "failover", "hub failover needs at least 2 hubs")
    for (name_a, net_a, _), (name_b, net_b, line_b) in itertools.combinations(named, 2):
        if net_a.overlaps(net_b):
            problems.add(line_b, name_b, f"{net_b} overlaps {name_a} {net_a}; every network must be distinct")
    widest: tuple[IPv4Network, str] | None = None  # of the LANs so far, the one reaching highest
    for spoke in sorted(design.spokes, key=lambda s: (s.lan.network.network_address, -s.lan.network.num_addresses)):
        net = spoke.lan.network
        if not net.subnet_of(lan_pool):
            problems.add(top.key_line("spokes"), f"spokes: {spoke.name}.lan",
                         f"{net} is outside spokes.lan_pool {lan_pool}; the hub's summary would not cover it")
        if widest and net.network_address <= widest[0].broadcast_address:
            problems.add(top.key_line("spokes"), f"spokes: {spoke.name}.lan",
                         f"{net} overlaps the LAN of {widest[1]} ({widest[0]})")
        if not widest or net.broadcast_address > widest[0].broadcast_address:
            widest = (net, spoke.name)
    if design.misconfigure and len(design.spokes) < 2:
        problems.add(top.key_line("misconfigure"), "misconfigure", "proving a misconfigured spoke kept out needs "
                     "at least 2 spokes: the last is misconfigured, the first is the healthy control")
    for case in design.cases:
        if len(design.spokes) < case.spokes:
            problems.add(top.key_line("cases"), "cases", f"{case.name} needs at least {case.spokes} spokes "
                         f"({len(design.spokes)} in the design); set spokes.count to {case.spokes} or more")
        if case.requires and _field(design, case.requires) is None:
            problems.add(top.key_line("cases"), "cases", f"{case.name} needs {case.requires} set in the design")
        _case_nat(problems, design, case, top.key_line("cases"))
        if design.phase not in case.phases:
            problems.add(top.key_line("cases"), "cases", f"{case.name} means something only in phase "
                         f"{' or '.join(map(str, case.phases))}, not in phase {design.phase}; remove it")
    if design.has_case("wan_address_change"):
        spare = design.spare_wan_link().address.network
        taken = [s.wan.network for s in design.sites] + ([design.cluster.segment] if design.cluster else [])
        if any(spare.overlaps(network) for network in taken):
            pool = design.transport.wan_pool
            problems.add(top.key_line("cases"), "underlay.wan_pool", f"wan_address_change gives a spoke the pool's "
                         f"last /{WAN_LINK_PREFIXLEN} ({spare}) as its new lease, but a site holds it; "
                         f"{larger(pool, room(pool, WAN_LINK_PREFIXLEN) + 1, WAN_LINK_PREFIXLEN)}")
        _peering_outlasts_a_move(problems, design, top.key_line("routing"))
    if design.phase in (2, 3) and len(design.spokes) < 2:
        problems.add(top.key_line("spokes"), "spokes", f"phase {design.phase} needs at least 2 spokes "
                     "(spoke-to-spoke tunnels are what it is about)")


def _cluster_checks(problems: Problems, design: Design, line: int | None) -> tuple[str, IPv4Network, int | None]:
    """The sync network holds the sync bridge's VRRP address and both units' (a /29 at least); the HQ segment's VRRP
    address is a free host of it. Returns the sync network, which no other network of the design may overlap."""
    cluster, hq = design.cluster, design.headquarters
    if cluster.sync_network.prefixlen > 29:
        problems.add(line, "cluster.sync_network", f"{cluster.sync_network} has no room for the sync bridge's VRRP "
                     "address and both units' (hosts 1-3); use a /29 or larger")
    segment = design.hubs[0].lan.network
    taken = {h.lan.ip: f"hub {h.name}" for h in design.hubs} | ({hq.address.ip: "headquarters.address"} if hq else {})
    if cluster.lan_vip not in segment or cluster.lan_vip in (segment.network_address, segment.broadcast_address):
        problems.add(line, "cluster.lan_vip", f"{cluster.lan_vip} is not a host of the hubs' HQ segment {segment}")
    elif cluster.lan_vip in taken:
        problems.add(line, "cluster.lan_vip", f"{cluster.lan_vip} is already used by {taken[cluster.lan_vip]}")
    return "cluster.sync_network", cluster.sync_network, line


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


def _nat_checks(problems: Problems, design: Design, line: int | None) -> None:
    """Spokes behind PATs go with one hub, and a cloud with shortcuts keeps a public spoke (two spokes behind PATs
    build no direct tunnel, so its spoke-to-spoke story needs one)."""
    if len(design.hubs) != 1:
        problems.add(line, "nat", f"spokes behind PATs need a design with one hub, found {len(design.hubs)}: the hub "
                     "pair's and the cluster's fault cases pick spoke-to-spoke pairs that two PATs would break; "
                     "use one hub")
    if design.phase >= 2 and len(design.natted_spokes) == len(design.spokes):
        problems.add(line, "nat.spokes", f"every spoke is behind a PAT, but phase {design.phase} is about "
                     "spoke-to-spoke tunnels and two spokes behind PATs cannot build one; leave a spoke public")


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


def _mpls_checks(problems: Problems, design: Design, top: Fields) -> list[tuple[str, IPv4Network, int | None]]:
    """MPLS needs one hub (the VPN relay), distinct VRF names and ids, and pools with room for the spokes;
    returns the VRF networks for the overlap check (distinct networks keep the isolation checks exact)."""
    line = top.key_line("mpls")
    if len(design.hubs) != 1:
        problems.add(line, "mpls", f"MPLS over DMVPN relays spoke-to-spoke VPN traffic through one hub; "
                     f"found {len(design.hubs)} hubs, use one")
    named = []
    for key in ("name", "id"):
        values = [getattr(v, key) for v in design.mpls.vrfs]
        for value in {v for v in values if values.count(v) > 1}:
            problems.add(line, f"mpls.vrfs.{key}",
                         f"{value} is used by more than one VRF; make each VRF's {key} unique")
    blocks_needed = len(design.spokes) + 1  # block 0 stays unused, as in spokes.lan_pool
    for vrf in design.mpls.vrfs:
        prefixlen = design.mpls.lan_prefixlen
        room = 2 ** max(prefixlen - vrf.lan_pool.prefixlen, 0) if prefixlen >= vrf.lan_pool.prefixlen else 0
        if room < blocks_needed:
            problems.add(line, f"mpls.vrfs: {vrf.name}.lan_pool", f"{vrf.lan_pool} has room for {max(room - 1, 0)} "
                         f"spoke LANs of /{prefixlen}, {len(design.spokes)} needed; use a larger pool")
        named += [(f"mpls.vrfs: {vrf.name}.hq_lan", vrf.hq_lan.network, line),
                  (f"mpls.vrfs: {vrf.name}.lan_pool", vrf.lan_pool, line)]
    return named
