"""The Jinja2 environment holding every device template (labkit/render/templates/<platform>/)."""

from __future__ import annotations

from functools import cache

import jinja2

from labkit.design.model import Proposal

SWAN_DH = {14: "modp2048", 15: "modp3072", 16: "modp4096", 19: "ecp256", 20: "ecp384", 21: "ecp521"}


def swan_proposal(proposal: Proposal) -> str:
    """A design proposal in strongSwan's notation, e.g. aes256-sha256-ecp256."""
    parts = [proposal.encryption]
    if proposal.integrity:
        parts.append(proposal.integrity)
    if proposal.dh_group:
        parts.append(SWAN_DH[proposal.dh_group])
    return "-".join(parts)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("labkit.render", "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # device configs, not HTML
    )
    env.filters["swan_proposal"] = swan_proposal
    return env
