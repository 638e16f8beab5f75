"""The design model: one YAML file, validated once, from which everything else is derived."""

from labkit.design.build import load_design
from labkit.design.model import Design, Site

__all__ = ["Design", "Site", "load_design"]
