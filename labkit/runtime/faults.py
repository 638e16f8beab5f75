"""The fault and misconfiguration library: what breaks a running lab node in place, and what puts it back.

Each fault is one file of the lab platform's, labkit/platforms/frr_strongswan/templates/faults/<name>.sh.j2: the
shell a runtime runs inside the node (its `exec`), in a block `apply` and, where the fault has its own way back, a
block `restore` (a fault without one heals by itself, or is itself a way back: node_start, link_up). The blocks are
Jinja2 templates rendered with the node's values (labkit.render.faults: what the node's own files were rendered
with, and the wrong values a misconfiguration puts in place of the design's) and the fault's parameters, each quoted
for the shell. Files named `_*.sh.j2` hold shell that several faults share. Adding a fault is adding a file.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from functools import cache
from typing import Any, Literal

import jinja2

from labkit.errors import LabkitError
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
