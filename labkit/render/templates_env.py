"""The Jinja2 environment holding every device template (labkit/render/templates/<platform>/)."""

from __future__ import annotations

from functools import cache

import jinja2

from labkit.design.model import Proposal

SWAN_DH = {14: "modp2048", 15: "modp3072", 16: "modp4096", 19: "ecp256", 20: "ecp384", 21: "ecp521"}
# the design's algorithm names as ESR spells them (and the lint's way back)
ESR_HASH = {"sha1": "sha1", "sha256": "sha2-256", "sha384": "sha2-384", "sha512": "sha2-512"}
ESR_CIPHER = {"aes128": "aes128", "aes256": "aes256", "aes128gcm16": "aes128gcm", "aes256gcm16": "aes256gcm"}


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
    env.globals.update(esr_hash=ESR_HASH, esr_cipher=ESR_CIPHER)
    return env
