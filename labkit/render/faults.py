"""The fault and misconfiguration library: what breaks a running lab node in place, and what puts it back.

Each fault is one file of the lab platform's, labkit/platforms/frr_strongswan/templates/faults/<name>.sh.j2: the
shell a runtime runs inside the node (its `exec`), in a block `apply` and, where the fault has its own way back, a
block `restore` (a fault without one heals by itself, or is itself a way back: node_start, link_up). The blocks are
Jinja2 templates rendered with the node's values (fault_values: what the node's own files were rendered
with, and the wrong values a misconfiguration puts in place of the design's) and the fault's parameters, each quoted
for the shell. Files named `_*.sh.j2` hold shell that several faults share. Adding a fault is adding a file.

A fault is rendered here, for its node, before any runtime runs it (`fault_step`): a runtime only runs scripts.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import jinja2

from labkit.design.model import Design, Proposal
from labkit.errors import LabkitError
from labkit.plan import plan_design
from labkit.render.generate import template_context
from labkit.render.templates_env import environment

FOLDER = "faults/"
SUFFIX = ".sh.j2"
Step = Literal["apply", "restore"]
# the steps that start a node's router processes: CPU-heavy under emulation, they run as bursts where labs share a
# machine (labkit.runtime.scheduler)
STARTS_ROUTERS = frozenset({("node_start", "apply"), ("node_reset", "apply"), ("node_fail", "restore"),
                            ("ipsec_restart", "apply")})


class UnknownFault(LabkitError):
    """A fault, or a step of it, that the library does not have."""


@cache
def fault_names() -> tuple[str, ...]:
    """Every fault of the library, sorted."""
    templates = environment().list_templates(filter_func=lambda name: name.startswith(FOLDER)
                                             and name.endswith(SUFFIX) and "/_" not in name)
    return tuple(sorted(name.removeprefix(FOLDER).removesuffix(SUFFIX) for name in templates))


def _template(fault: str) -> jinja2.Template:
    if fault not in fault_names():
        raise UnknownFault(f"unknown fault {fault!r}; faults: {', '.join(fault_names())}")
    return environment().get_template(f"{FOLDER}{fault}{SUFFIX}")


def is_burst(fault: str, step: Step) -> bool:
    """Whether the step starts router processes (a burst of CPU)."""
    return (fault, step) in STARTS_ROUTERS


def has_restore(fault: str) -> bool:
    return "restore" in _template(fault).blocks


def fault_script(fault: str, step: Step = "apply", values: Mapping[str, Any] | None = None, **params: object) -> str:
    """The shell script of one step of `fault`, for a node with these template `values`; UnknownFault names
    an unknown fault or step, LabkitError a value or parameter the fault needs and was not given."""
    template = _template(fault)
    if step not in template.blocks:
        raise UnknownFault(f"fault {fault} has no {step} step; steps: {', '.join(template.blocks)}")
    context = dict(values or {}) | {name: shlex.quote(str(value)) for name, value in params.items()}
    try:
        return "".join(template.blocks[step](template.new_context(context))).strip()
    except jinja2.UndefinedError as exc:
        raise LabkitError(f"fault {fault} ({step}) needs a value it was not given: {exc}") from exc


@dataclass(frozen=True)
class FaultStep:
    """One step of a fault, rendered for its node: the script a runtime runs there."""

    fault: str
    step: Step
    node: str
    script: str
    burst: bool  # it starts router processes: a burst of CPU where labs share a machine


def fault_step(design: Design, node: str, fault: str, step: Step = "apply", **params: object) -> FaultStep:
    """`step` of `fault` rendered with `node`'s values and the fault's parameters."""
    return FaultStep(fault, step, node, fault_script(fault, step, fault_values(design, node), **params),
                     is_burst(fault, step))


KEY_MAX = 2**32 - 1  # GRE keys and NHRP network-ids are 32-bit, 0 excluded
OTHER_DH_GROUP = {14: 19}  # a DH group the hub does not accept instead of the design's (default: 14, modp2048)
OTHER_CIPHER = {"aes128": "aes256", "aes256": "aes128", "aes128gcm16": "aes256gcm16", "aes256gcm16": "aes128gcm16"}


@dataclass(frozen=True)
class Wrong:
    """The misconfigured values: each differs from the design's, as an operator's slip would."""

    psk: str = field(repr=False)  # as secret as the design's: reports and evidence redact it
    gre_key: int
    nhrp_network_id: int
    ike_proposal: Proposal
    esp_proposal: Proposal


def _other(number: int) -> int:
    return number % KEY_MAX + 1


def wrong_values(design: Design) -> Wrong:
    ipsec, overlay = design.ipsec, design.overlay
    last = ipsec.psk[-1]
    return Wrong(
        psk=ipsec.psk[:-1] + ("x" if last != "x" else "y"),  # a typo in the last character
        gre_key=_other(overlay.gre_key),
        nhrp_network_id=_other(overlay.nhrp_network_id),
        ike_proposal=dataclasses.replace(ipsec.ike_proposal,
                                         dh_group=OTHER_DH_GROUP.get(ipsec.ike_proposal.dh_group, 14)),
        esp_proposal=dataclasses.replace(ipsec.esp_proposal, encryption=OTHER_CIPHER[ipsec.esp_proposal.encryption]),
    )


def fault_secrets(design: Design) -> tuple[str, ...]:
    """What the faults put in place that must never appear in reports, evidence or logs."""
    return (wrong_values(design).psk,)


def fault_values(design: Design, node: str) -> dict:
    """The template values of a fault injected into `node` (a hub, a spoke, or another node of the lab)."""
    site = next((s for s in design.sites if s.name == node), None)
    plan = plan_design(design)[node] if site else None
    return template_context(design, plan, site, node) | {"wrong": wrong_values(design)}
