"""The node plan as YAML: what `labkit plan DESIGN` prints and the goldens hold."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

import yaml

from labkit.design.model import Design
from labkit.plan.build import plan_design, transport_plan
from labkit.plan.model import PRINTED_IF_SET


def _plain(value: object) -> object:
    """Dataclasses to dicts (without fields printed only when set, and unset), tuples to lists, addresses to
    strings."""
    if is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)
                if not (f.metadata.get(PRINTED_IF_SET) and getattr(value, f.name) is None)}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, IPv4Address | IPv4Interface | IPv4Network):
        return str(value)
    return value


def plan_yaml(design: Design) -> str:
    """Every node's plan, in the lab's node order: the transport router, then the hubs and spokes."""
    header = f"# node plan of {design.origin} (lab {design.lab}, phase {design.phase})\n"
    plans = {design.transport.name: _plain(transport_plan(design))}
    plans |= {name: _plain(plan) for name, plan in plan_design(design).items()}
    return header + yaml.safe_dump(plans, sort_keys=False, default_flow_style=False, width=110)
