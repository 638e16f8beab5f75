"""Platforms, one package each (labkit/platforms/<package>/), registered here and nowhere else.

A platform package holds what is true of one kind of node and of nothing else:
- `platform.yml`: its name, its sessions, the facts it can be asked for (command, TTP template, state model) and
  the actions it can take, what its outputs do not show, the lines by which it refuses a command;
- `templates/`: the Jinja2 templates of the files it renders (device syntax, fault scripts);
- `ttp/`: the TTP templates that read its outputs;
- `convert.py`: `CONVERTERS`, how a parsed row of its outputs becomes an object of the neutral state model
  (labkit.verify.state);
- anything else only it needs (the ESR's port names, provenance, configuration grammar).

Adding a platform is adding a package and its name to PACKAGES; LAB and DEVICE name the platform the lab's nodes
run and the one whose configurations labkit writes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from labkit.platforms.frr_strongswan.standin import StandIn

# the lab's stand-in for a router (FRR and strongSwan on Linux), and the real Eltex ESR
PACKAGES = ("frr_strongswan", "esr")
LAB = "frr-lab"  # the platform the lab's nodes run
DEVICE = "eltex-esr"  # the platform whose configurations labkit writes for each hub and spoke
Converter = tuple[str | None, Callable[[dict], Any]]  # the TTP group holding the rows (None: one row), the function


def folder(package: str) -> Traversable:
    """The platform package's folder."""
    return resources.files(f"{__name__}.{package}")


@cache
def descriptors() -> dict[str, dict]:
    """Every platform's platform.yml, by the platform's name, with the package it came from (`package`)."""
    found = {}
    for package in PACKAGES:
        raw = yaml.safe_load(folder(package).joinpath("platform.yml").read_text())
        found[raw["name"]] = raw | {"package": package}
    return found


@cache
def converters() -> dict[str, Converter]:
    """Every platform's converters, by the state model name a fact names."""
    merged: dict[str, Converter] = {}
    for package in PACKAGES:
        for model, converter in importlib.import_module(f"{__name__}.{package}.convert").CONVERTERS.items():
            if merged.setdefault(model, converter) is not converter:
                raise ValueError(f"platform {package} converts {model} otherwise than another platform: "
                                 "name its model apart (as EsrRoute is from Route)")
    return merged


@cache
def ttp_text(name: str) -> str:
    """The TTP template `name` (its platform's ttp/ folder and file stem, e.g. frr/show_ip_route)."""
    for package in PACKAGES:
        path = folder(package).joinpath("ttp", f"{name}.ttp")
        if path.is_file():
            return path.read_text()
    raise FileNotFoundError(f"no platform has a TTP template {name}.ttp")


@dataclass(frozen=True)
class NodeFile:
    template: str
    path: str  # under nodes/<node>/ in the build directory
    mode: int


@dataclass(frozen=True)
class NodeKit:
    """How a node of a platform is made and run (its platform.yml `node:`); files, folders and binds by kind of node:
    site (a hub or spoke), cluster_unit (a hub of a cluster, besides), transport, core."""

    files: dict[str, tuple[NodeFile, ...]]
    folders: dict[str, tuple[str, ...]]
    binds: dict[str, tuple[str, ...]]
    start: str
    restart: str  # the script a changed node runs to start again from scratch, in place
    env: dict[str, str]
    pid_files: tuple[str, ...]
    warm_programs: tuple[str, ...]
    warm_trees: tuple[str, ...]
    cli: str  # the program of the node's `cli` session
    batch: tuple[str, str]  # the `cli` session's lines typed in one go: the program, the option before each line
    bare_start: str  # shell starting the node's daemons bare, in a fresh namespace with a private /run

    def batch_argv(self, lines: tuple[str, ...]) -> list[str]:
        """`lines` of the `cli` session as one command."""
        program, each = self.batch
        return [program, *(arg for line in lines for arg in (each, line))]


@cache
def lab_node() -> NodeKit:
    """How the lab's nodes are made and run."""
    descriptor = descriptors()[LAB]
    raw = descriptor["node"]
    return NodeKit(
        files={kind: tuple(NodeFile(t, path, int(mode, 8)) for t, path, mode in rows)
               for kind, rows in raw["files"].items()},
        folders={kind: tuple(rows) for kind, rows in raw.get("folders", {}).items()},
        binds={kind: tuple(rows) for kind, rows in raw["binds"].items()},
        start=raw["start"], restart=raw["restart"], env=dict(raw.get("env", {})),
        pid_files=tuple(raw.get("pid_files", ())),
        warm_programs=tuple(raw.get("warm", {}).get("programs", ())),
        warm_trees=tuple(raw.get("warm", {}).get("trees", ())),
        cli=descriptor["sessions"]["cli"], batch=(raw["batch"]["program"], raw["batch"]["each"]),
        bare_start=raw["bare_start"])


def lab_stand_in(design: Any, site: Any) -> StandIn:
    """Where the lab platform's node standing in for `site` differs from the real device, and why (the node plan's
    `stand_in`)."""
    return importlib.import_module(f"{__name__}.{descriptors()[LAB]['package']}.standin").stand_in(design, site)


@dataclass(frozen=True)
class Timing:
    """What bounds how fast the lab's nodes react, besides the design's timers (platform.yml `timing:`)."""

    registration_retries_s: tuple[int, ...]  # an unanswered NHRP registration is sent again after each wait
    registration_dropped_at_s: int  # once an unanswered wait reached this, a spoke drops its NHS registration
    acquire_expires_s: int  # a failed keying try started by traffic blocks the next this long
    redirect_interval_s: int  # the hub redirects a LAN pair at most once in this
    command_margin_s: int  # one more round of a check's commands


@cache
def lab_timing() -> Timing:
    raw = descriptors()[LAB]["timing"]
    return Timing(**raw | {"registration_retries_s": tuple(raw["registration_retries_s"])})


def device_config(environment: Any, context: dict) -> str:
    """A hub's or spoke's configuration on the device platform, rendered with the template context."""
    descriptor = descriptors()[DEVICE]
    return importlib.import_module(f"{__name__}.{descriptor['package']}.config").render(
        environment, context, descriptor["config"])
