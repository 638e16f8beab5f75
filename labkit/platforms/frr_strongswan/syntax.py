"""The design's IPsec algorithm names as strongSwan spells them (a Jinja2 filter of this platform's templates)."""

from __future__ import annotations

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


FILTERS = {"swan_proposal": swan_proposal}
GLOBALS: dict[str, object] = {}
