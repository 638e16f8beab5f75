"""A picture of the lab: hubs, spokes, the transport router, WAN links and mGRE/IPsec tunnels, as SVG
(laid out here, no graphviz needed) and as a containerlab-style mermaid graph."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labkit.design.model import Design, Site
from labkit.render.clab import node_roles
from labkit.render.templates_env import environment

ROW_Y = {"core": 50, "hub": 170, "transport": 300, "spoke": 430}
COLUMN_W = 130
MARGIN = 80


@dataclass(frozen=True)
class Box:
    name: str
    role: str
    detail: str  # model, addresses
    x: int
    y: int


@dataclass(frozen=True)
class Edge:
    a: Box
    b: Box
    kind: str  # wan, hq (the HQ segment), tunnel
    label: str


def _detail(design: Design, name: str, role: str) -> str:
    if role == "transport":
        return f"transport {design.transport.wan_pool}"
    if role == "core":
        return f"HQ LAN {design.headquarters.lan.network}"
    site = design.site(name)
    return f"{site.model.name} {site.tunnel}"


def _wan_label(site: Site) -> str:
    """The site's WAN address; behind a PAT, its inside address and the PAT's outside one."""
    return f"{site.inside.address.ip} PAT {site.wan.ip}" if site.inside else str(site.wan.ip)


def layout(design: Design) -> tuple[list[Box], list[Edge], int]:
    """Boxes in rows by role, centred; the edges between them; the picture's width."""
    roles = node_roles(design)
    rows: dict[str, list[str]] = {}
    for name, role in roles:
        rows.setdefault(role, []).append(name)
    width = 2 * MARGIN + COLUMN_W * max(len(names) for names in rows.values())
    boxes: dict[str, Box] = {}
    for role, names in rows.items():
        start = (width - COLUMN_W * (len(names) - 1)) // 2
        for i, name in enumerate(names):
            boxes[name] = Box(name, role, _detail(design, name, role), start + i * COLUMN_W, ROW_Y[role])
    transport = boxes[design.transport.name]
    edges = [Edge(boxes[s.name], transport, "wan", _wan_label(s)) for s in design.sites]
    if design.headquarters:
        edges += [Edge(boxes[h.name], boxes[design.headquarters.name], "hq", str(h.lan.ip)) for h in design.hubs]
    edges += [Edge(boxes[s.name], boxes[h.name], "tunnel", "mGRE + IPsec") for s in design.spokes
              for h in design.nhs]
    return list(boxes.values()), edges, width


def render_graph(design: Design, out_dir: Path) -> tuple[Path, Path]:
    """Write <lab>.svg and <lab>.mmd into out_dir; returns their paths."""
    boxes, edges, width = layout(design)
    env = environment()
    context = {"design": design, "boxes": boxes, "edges": edges, "width": width,
               "height": ROW_Y["spoke"] + 110}
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for template, suffix in (("graph/topology.svg.j2", "svg"), ("graph/topology.mmd.j2", "mmd")):
        path = out_dir / f"{design.lab}.{suffix}"
        path.write_text(env.get_template(template).render(context), encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1]
