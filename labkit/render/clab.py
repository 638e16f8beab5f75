"""The containerlab topology of a design: kind linux nodes, per-node binds, links, mgmt addresses."""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any

from labkit.design.model import Design
from labkit.platforms import lab_node

NODE_IMAGE = "ghcr.io/labkit/dmvpn-node:0.1.0"
MGMT_SUBNET = IPv4Network("172.20.20.0/24")
MGMT_LARGE = IPv4Network("172.20.0.0/16")
KIND = {"hub": "site", "spoke": "site"}  # the kind of node (labkit.platforms.NodeKit) a role is
HUB_HQ_PORT = "eth2"  # a hub's port on the HQ segment, when the design has an HQ core router
# what the nodes need from the host kernel they share: GRE, ESP and the netfilter targets of the start
# scripts; MPLS forwarding, MPLS encapsulation routes and VRF devices for an L3VPN design; NAT for spokes behind PATs
KERNEL_MODULES = ("ip_gre", "esp4", "xfrm_user", "nfnetlink_log", "xt_NFLOG")
MPLS_KERNEL_MODULES = ("mpls_router", "mpls_iptunnel", "vrf")
NAT_KERNEL_MODULES = ("nf_nat", "xt_nat")  # the transport router's SNAT: the PATs in front of spokes


def kernel_modules(design: Design) -> tuple[str, ...]:
    return (KERNEL_MODULES + (MPLS_KERNEL_MODULES if design.mpls else ())
            + (NAT_KERNEL_MODULES if design.nat else ()))


def node_roles(design: Design) -> list[tuple[str, str]]:
    """(node, role) of every node: the transport router, hubs, spokes, then the HQ core router if any."""
    nodes = [(design.transport.name, "transport")] + [(s.name, s.role) for s in design.sites]
    return nodes + ([(design.headquarters.name, "core")] if design.headquarters else [])


def topology(design: Design) -> dict[str, Any]:
    """The `<lab>.clab.yml` document; bind sources are relative to the file, as containerlab expects."""
    roles, binds = node_roles(design), lab_node().binds
    mgmt = MGMT_SUBNET if len(roles) + 10 < MGMT_SUBNET.num_addresses - 1 else MGMT_LARGE
    nodes: dict[str, Any] = {}
    for i, (name, role) in enumerate(roles):
        labels = {"labkit.role": role}
        if role in ("hub", "spoke"):
            labels["labkit.model"] = design.site(name).model.name
        nodes[name] = {
            "kind": "linux",
            "image": NODE_IMAGE,
            "mgmt-ipv4": str(mgmt[10 + i]),
            "binds": [f"nodes/{name}/{b}" for b in binds[KIND.get(role, role)]],
            "labels": labels,
        }
    links = [
        {"endpoints": [f"{design.transport.name}:{design.transport_port(site)}", f"{site.name}:eth1"]}
        for site in design.sites
    ]
    if design.headquarters:
        links += [
            {"endpoints": [f"{hub.name}:{HUB_HQ_PORT}", f"{design.headquarters.name}:eth{i}"]}
            for i, hub in enumerate(design.hubs, start=1)
        ]
    return {
        "name": design.lab,
        "prefix": "clab",
        "mgmt": {"network": f"labkit-{design.lab}", "ipv4-subnet": str(mgmt)},
        "topology": {
            "defaults": {"env": {"LABKIT_LAB": design.lab},
                         "labels": {"labkit.kernel-modules": " ".join(kernel_modules(design))}},
            "nodes": nodes,
            "links": links,
        },
    }
