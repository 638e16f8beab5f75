"""The containerlab topology of a design: kind linux nodes, per-node binds, links, mgmt addresses."""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any

from labkit.design.model import Design

NODE_IMAGE = "ghcr.io/labkit/dmvpn-node:0.1.0"
MGMT_SUBNET = IPv4Network("172.20.20.0/24")
MGMT_LARGE = IPv4Network("172.20.0.0/16")
SITE_BINDS = ("frr:/etc/frr", "swanctl:/etc/swanctl", "labkit:/etc/labkit")


def topology(design: Design) -> dict[str, Any]:
    """The `<lab>.clab.yml` document; bind sources are relative to the file, as containerlab expects."""
    names = [design.transport.name] + [s.name for s in design.sites]
    mgmt = MGMT_SUBNET if len(names) + 10 < MGMT_SUBNET.num_addresses - 1 else MGMT_LARGE
    nodes: dict[str, Any] = {}
    for i, name in enumerate(names):
        role = "transport" if i == 0 else design.site(name).role
        binds = ["labkit:/etc/labkit"] if role == "transport" else list(SITE_BINDS)
        labels = {"labkit.role": role}
        if role != "transport":
            labels["labkit.model"] = design.site(name).model.name
        nodes[name] = {
            "kind": "linux",
            "image": NODE_IMAGE,
            "mgmt-ipv4": str(mgmt[10 + i]),
            "binds": [f"nodes/{name}/{b}" for b in binds],
            "labels": labels,
        }
    links = [
        {"endpoints": [f"{design.transport.name}:eth{i}", f"{site.name}:eth1"]}
        for i, site in enumerate(design.sites, start=1)
    ]
    return {
        "name": design.lab,
        "prefix": "clab",
        "mgmt": {"network": f"labkit-{design.lab}", "ipv4-subnet": str(mgmt)},
        "topology": {
            "defaults": {"env": {"LABKIT_LAB": design.lab}},
            "nodes": nodes,
            "links": links,
        },
    }
