"""An ESR configuration: its body from the template, and a header naming each construct's provenance."""

from __future__ import annotations

import jinja2

from labkit.platforms.esr.provenance import header


def render(environment: jinja2.Environment, context: dict, config: dict) -> str:
    """The node's configuration (platform.yml `config`: its template and header template)."""
    body = environment.get_template(config["template"]).render(context)
    return environment.get_template(config["header"]).render(context, provenance=header(body)) + body
