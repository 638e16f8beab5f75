"""Design file -> validated Design, in three steps: its fields read (labkit.design.parse), its addresses derived
(labkit.design.allocate), then the rules that span fields (labkit.design.validate)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from labkit.design import allocate, parse, spec
from labkit.design.fields import DEFAULT, Fields, Problems
from labkit.design.loader import apply_overrides, load_yaml, parse_override
from labkit.design.model import Design, Overlay, Routing, Transport
from labkit.design.pools import SPOKE_TUNNEL_OFFSET, WAN_LINK_PREFIXLEN
from labkit.design.validate import Line, validate
from labkit.errors import DesignError

SPOKES_AS_A_LIST = ("unlike `hubs:`, list the spokes under `nodes:` (spokes.nodes), beside the spokes' other fields: "
                    "`spokes: {lan_pool: 172.16.0.0/16, nodes: [{name: spoke1, model: ESR-30}, ...]}`, or derive them: "
                    "`spokes: {count: 3, models: [ESR-30]}`")


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

    ipsec = parse.ipsec(top.fields("ipsec"))
    routing_settings = parse.routing_settings(top.fields("routing"), phase)
    hubs = parse.hubs(top, problems)
    headquarters = parse.headquarters(top.fields("headquarters", required=False)) if top.has("headquarters") else None
    failover = parse.failover(top.fields("failover", required=False)) if top.has("failover") else None
    cluster_settings = parse.cluster_settings(top.fields("cluster", required=False)) if top.has("cluster") else None
    mpls = parse.mpls(top.fields("mpls", required=False)) if top.has("mpls") else None
    misconfigure = spec.take(top, "misconfigure")
    cases = spec.take(top, "cases")
    nat_fields = top.fields("nat", required=False) if top.has("nat") else None
    nat_settings = parse.nat_settings(nat_fields) if nat_fields else None
    spokes_fields = top.fields("spokes", fix=SPOKES_AS_A_LIST)
    lan_pool = spec.take(spokes_fields, "lan_pool", default=DEFAULT)
    spokes, lan_prefixlen = parse.spoke_entries(spokes_fields)
    spokes_fields.finish()
    top.finish()

    # Derived values only from fields that are all valid: a wrong value is reported once, where it is.
    if problems.lines or None in (tunnel_network, wan_pool, lan_pool, phase) or not hubs:
        return None
    if not allocate.lan_prefixlen_fits(spokes_fields, lan_pool, lan_prefixlen):
        return None
    site_lines = {entry["name"]: entry["line"] for entry in hubs + spokes}
    pools = [
        allocate.Pool("underlay.wan_pool", wan_pool, under.key_line("wan_pool"), WAN_LINK_PREFIXLEN,
                      len(hubs), "a /30 link per site, hubs first", len(spokes)),
        allocate.Pool("overlay.tunnel_network", tunnel_network, ov.key_line("tunnel_network"), 32,
                      SPOKE_TUNNEL_OFFSET + 2, f"spoke N is host {SPOKE_TUNNEL_OFFSET}+N",
                      allocate.last_derived(spokes, "tunnel")),
        allocate.Pool("spokes.lan_pool", lan_pool, spokes_fields.key_line("lan_pool"), lan_prefixlen,
                      1, f"spoke N gets the Nth /{lan_prefixlen}", allocate.last_derived(spokes, "lan")),
    ]
    listed = "count" if spokes_fields.has("count") else "nodes"
    given = (spokes_fields.key_line(listed), f"spokes.{listed}")
    wan_pool, tunnel_network, lan_pool = (allocate.pool_network(problems, given, pool) for pool in pools)
    if problems.lines:
        return None
    transport = Transport(name=transport_name, wan_pool=wan_pool)
    overlay = Overlay(tunnel_network=tunnel_network, **overlay_settings)
    routing = Routing(**routing_settings, spoke_summary=lan_pool)
    allocate.spoke_lans(spokes_fields, spokes, lan_pool, lan_prefixlen)
    cluster = allocate.cluster(problems, cluster_settings, transport, hubs) if cluster_settings else None
    if cluster:
        hubs = allocate.place_units(hubs, cluster, overlay)
        spokes = allocate.place(problems, "spokes", spokes, transport, overlay, first=SPOKE_TUNNEL_OFFSET + 1,
                                offset=cluster.segment.num_addresses // 4)
    else:
        hubs = allocate.place(problems, "hubs", hubs, transport, overlay, first=1)
        spokes = allocate.place(problems, "spokes", spokes, transport, overlay, first=SPOKE_TUNNEL_OFFSET + 1,
                                offset=len(hubs))
    nat = allocate.behind_pats(problems, nat_fields, nat_settings, hubs, spokes) if nat_fields else None
    if problems.lines:
        return None
    if nat:
        spokes = allocate.inside_links(spokes, nat)
    design = Design(
        source=problems.source, lab=lab, scenario=scenario, description=description, phase=phase,
        transport=transport, overlay=overlay, ipsec=ipsec, routing=routing,
        hubs=tuple(hubs), spokes=tuple(spokes), headquarters=headquarters, failover=failover, cluster=cluster,
        mpls=mpls, misconfigure=misconfigure, cases=cases, nat=nat,
    )
    validate(problems, design, Line(top.key_line, site_lines))
    return design
