"""What a fault of the library (labkit.runtime.faults) sees for a node: the values the node's own files were
rendered with, and `wrong`, the values a misconfiguration puts in place of the design's."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from labkit.design.model import Design, Proposal
from labkit.plan import plan_design
from labkit.render.generate import template_context

KEY_MAX = 2**32 - 1  # GRE keys and NHRP network-ids are 32-bit, 0 excluded
OTHER_DH_GROUP = {14: 19}  # a DH group the hub does not accept instead of the design's (default: 14, modp2048)
OTHER_CIPHER = {"aes128": "aes256", "aes256": "aes128", "aes128gcm16": "aes256gcm16", "aes256gcm16": "aes128gcm16"}


@dataclass(frozen=True)
class Wrong:
    """The misconfigured values: each differs from the design's, as an operator's slip would."""

    psk: str = field(repr=False)  # as secret as the design's: reports and evidence redact it
    gre_key: int
    nhrp_network_id: int
    ike_proposal: Proposal
    esp_proposal: Proposal


def _other(number: int) -> int:
    return number % KEY_MAX + 1


def wrong_values(design: Design) -> Wrong:
    ipsec, overlay = design.ipsec, design.overlay
    last = ipsec.psk[-1]
    return Wrong(
        psk=ipsec.psk[:-1] + ("x" if last != "x" else "y"),  # a typo in the last character
        gre_key=_other(overlay.gre_key),
        nhrp_network_id=_other(overlay.nhrp_network_id),
        ike_proposal=dataclasses.replace(ipsec.ike_proposal,
                                         dh_group=OTHER_DH_GROUP.get(ipsec.ike_proposal.dh_group, 14)),
        esp_proposal=dataclasses.replace(ipsec.esp_proposal, encryption=OTHER_CIPHER[ipsec.esp_proposal.encryption]),
    )


def fault_secrets(design: Design) -> tuple[str, ...]:
    """What the faults put in place that must never appear in reports, evidence or logs."""
    return (wrong_values(design).psk,)


def fault_values(design: Design, node: str) -> dict:
    """The template values of a fault injected into `node` (a hub, a spoke, or another node of the lab)."""
    site = next((s for s in design.sites if s.name == node), None)
    plan = plan_design(design)[node] if site else None
    return template_context(design, plan, site, node) | {"wrong": wrong_values(design)}
