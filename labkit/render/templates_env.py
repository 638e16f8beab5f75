"""The Jinja2 environment holding every template: each platform's (labkit/platforms/<package>/templates/<dir>/) and
labkit's own drawings (labkit/render/templates/graph/), with the filters and globals the platforms give them."""

from __future__ import annotations

import importlib
from functools import cache

import jinja2

from labkit.platforms import PACKAGES


@cache
def environment() -> jinja2.Environment:
    loaders = [jinja2.PackageLoader(f"labkit.platforms.{package}", "templates") for package in PACKAGES]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([*loaders, jinja2.PackageLoader("labkit.render", "templates")]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # device configs, not HTML
    )
    for package in PACKAGES:
        syntax = importlib.import_module(f"labkit.platforms.{package}.syntax")
        env.filters.update(syntax.FILTERS)
        env.globals.update(syntax.GLOBALS)
    return env
