"""A design's addresses, derived once its fields are valid: the pools' room for the spokes, each site's WAN link
and tunnel address, spoke LANs, the hub cluster's shared segment, the links behind PATs."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from ipaddress import IPv4Interface, IPv4Network
from typing import Any

from labkit.design import spec
from labkit.design.fields import DEFAULT, Fields, Problems
from labkit.design.model import Cluster, Nat, Overlay, Site, Transport, WanLink
from labkit.design.pools import SPOKE_TUNNEL_OFFSET, WAN_LINK_PREFIXLEN, larger, prefixlen_for, room


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


def pool_network(problems: Problems, need: tuple[int | None, str], pool: Pool) -> IPv4Network | None:
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


def last_derived(spokes: list[dict], key: str) -> int:
    """The number of the last spoke whose `key` address is derived from its number."""
    return max((n for n, spoke in enumerate(spokes, start=1) if spoke[key] is None), default=0)


def behind_pats(problems: Problems, fields: Fields, settings: tuple[list[str] | None, Any], hubs: list[Site],
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
    pool = pool_network(problems, (line, "nat.spokes"), Pool(
        "nat.inside_pool", pool_value, fields.key_line("inside_pool"), WAN_LINK_PREFIXLEN, 1,
        f"spoke N's link to its PAT is the Nth /{WAN_LINK_PREFIXLEN}", max(numbers[n] for n in names)))
    return Nat(inside_pool=pool, spokes=tuple(names)) if pool else None


def inside_links(spokes: list[Site], nat: Nat) -> list[Site]:
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


def cluster(problems: Problems, settings: tuple[dict[str, Any], int | None], transport: Transport,
            hubs: list[dict]) -> Cluster | None:
    given, line = settings
    if len(hubs) != 2:
        problems.add(line, "cluster", f"an Active/Standby cluster has exactly 2 hub units, found {len(hubs)}")
        return None
    segment = next(transport.wan_pool.subnets(new_prefix=29))  # gateway .1, shared address .2, units .3, .4
    lan_vip = given["lan_vip"] or hubs[0]["lan"].network[-2]  # the HQ segment's last host
    return Cluster(segment=segment, vip=segment[2], **given | {"lan_vip": lan_vip})


def place_units(entries: list[dict], cluster: Cluster, overlay: Overlay) -> list[Site]:
    """Cluster units: addresses .3 and .4 of the shared WAN segment, the same tunnel address."""
    tunnel = entries[0]["tunnel"] or overlay.tunnel_network[1]
    return [
        Site(name=e["name"], role="hub", model=e["model"], wan=IPv4Interface(f"{cluster.segment[2 + n]}/29"),
             wan_gateway=cluster.segment[1], tunnel=tunnel, lan=e["lan"], vip=cluster.vip)
        for n, e in enumerate(entries, start=1) if None not in (e["name"], e["model"], e["lan"])
    ]


def lan_prefixlen_fits(fields: Fields, lan_pool: Any, prefixlen: int) -> bool:
    """A given spokes.lan_pool must be larger than each spoke LAN; records the problem if not."""
    if lan_pool is DEFAULT or prefixlen > lan_pool.prefixlen:
        return True
    fields.problems.add(fields.key_line("lan_prefixlen"), fields.sub("lan_prefixlen"),
                        f"must be longer than the pool's /{lan_pool.prefixlen} (spokes.lan_pool {lan_pool})")
    return False


def spoke_lans(fields: Fields, spokes: list[dict], lan_pool: IPv4Network, prefixlen: int) -> None:
    """Give each spoke without a `lan` block N of the pool (block 0 stays unused, so that spoke N gets
    172.16.N.0/24 in a /16 pool); the pool's room was checked before."""
    subnets = lan_pool.subnets(new_prefix=prefixlen)
    next(subnets, None)
    for spoke, subnet in zip(spokes, subnets, strict=False):
        if spoke["lan"] is None:
            spoke["lan"] = IPv4Interface(f"{next(subnet.hosts())}/{subnet.prefixlen}")


def place(problems: Problems, role_path: str, entries: list[dict], transport: Transport, overlay: Overlay,
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
