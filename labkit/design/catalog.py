"""What labkit knows, read from its data files: the ESR models (labkit/platforms/esr/models.yml), the
misconfigurations a design can ask to be proven kept out (labkit/data/misconfigurations.yml) and the edge
cases it can ask to be proven (labkit/data/cases.yml)."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from labkit.design.model import EdgeCase, EsrModel, Failover, Misconfiguration


@cache
def esr_models() -> dict[str, EsrModel]:
    raw = yaml.safe_load(resources.files("labkit.platforms.esr").joinpath("models.yml").read_text())
    return {
        name: EsrModel(
            name=name,
            roles=tuple(entry["roles"]),
            wan_port=entry["wan"],
            lan_port=entry["lan"],
            sync_port=entry.get("sync"),
            firmware=str(entry["firmware"]),
            source=entry["source"],
        )
        for name, entry in raw.items()
    }


@cache
def misconfigurations() -> dict[str, Misconfiguration]:
    raw = yaml.safe_load(resources.files("labkit.data").joinpath("misconfigurations.yml").read_text())
    return {name: Misconfiguration(fault=name, title=entry["title"], ipsec_left=entry["ipsec_left"])
            for name, entry in raw.items()}


@cache
def edge_cases() -> dict[str, EdgeCase]:
    raw = yaml.safe_load(resources.files("labkit.data").joinpath("cases.yml").read_text())
    return {name: EdgeCase(name=name, title=entry["title"], spokes=entry["spokes"],
                           phases=tuple(entry.get("phases", (1, 2, 3))),
                           budget=Failover(entry["loss_budget_ms"], entry["probe_interval_ms"])
                           if "loss_budget_ms" in entry else None, requires=entry.get("requires"),
                           nat_spokes=entry.get("nat_spokes", 0), stand_in_gap=entry.get("stand_in_gap"))
            for name, entry in raw.items()}
