"""The ESR models labkit knows, read from labkit/data/esr_models.yml."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from labkit.design.model import EsrModel


@cache
def esr_models() -> dict[str, EsrModel]:
    raw = yaml.safe_load(resources.files("labkit.data").joinpath("esr_models.yml").read_text())
    return {
        name: EsrModel(
            name=name,
            roles=tuple(entry["roles"]),
            wan_port=entry["wan"],
            lan_port=entry["lan"],
            firmware=str(entry["firmware"]),
            source=entry["source"],
            confirmed=bool(entry["confirmed"]),
        )
        for name, entry in raw.items()
    }
