"""Kept out, and proven out: the lab in its designed state, then one misconfiguration after another on the
last spoke, each applied in place and alone: the spoke shown out of the hubs' state and its traffic refused
(a healthy spoke as positive control), the rest undisturbed; then the design's configuration put back in place
and the spoke shown to join. A misconfiguration that keeps nothing out by design is shown not to."""

from __future__ import annotations

from dataclasses import dataclass

from labkit.design.model import Design, Site
from labkit.verify.checks import keptout, paths
from labkit.verify.checks.keptout import IpsecLeft
from labkit.verify.engine import Check
from labkit.verify.schedule import after
from labkit.verify.suites import baseline


@dataclass(frozen=True)
class Misconfiguration:
    fault: str  # a fault of the library (labkit/render/templates/faults/<fault>.sh.j2)
    title: str
    left: IpsecLeft | None  # what it leaves of IPsec with the hubs; None: it keeps nothing out


MISCONFIGURATIONS = (
    Misconfiguration("wrong_psk", "a wrong pre-shared key", "refused"),
    Misconfiguration("ike_proposal_mismatch", "an IKE proposal the hub does not accept", "refused"),
    Misconfiguration("esp_proposal_mismatch", "an ESP proposal the hub does not accept", "no-child"),
    Misconfiguration("gre_key_mismatch", "a wrong GRE key (silent: gre1 and IPsec stay up)", "up"),
    # FRR documents the network-id as local only, never sent to other NHRP nodes: the spoke stays in
    Misconfiguration("nhrp_network_id_mismatch", "another NHRP network-id", None),
)


def case(design: Design, m: Misconfiguration, spoke: Site, control: Site, prior: list[Check]) -> list[Check]:
    """One misconfiguration, applied once `prior` passed: its proofs, then its restore (which runs whenever the
    apply could, whatever the proofs found) and the spoke joining again."""
    [apply] = after(prior, keptout.applied(spoke, m.fault, m.title))
    if m.left is None:
        proofs = after([apply], keptout.stays_in(design, spoke, control, m.fault))
    else:
        [out] = after([apply], keptout.kept_out(design, spoke, m.fault, m.left))
        proofs = [out, *after([out], keptout.unreachable(design, spoke, control, m.fault),
                              keptout.undisturbed(design, spoke, m.fault))]
    [restore] = after(prior, keptout.restored(spoke, m.fault))
    return [apply, *proofs, restore, *after([restore], keptout.joined(design, spoke, m.fault))]


def checks(design: Design) -> list[Check]:
    spoke, control = design.spokes[-1], design.spokes[0]
    base = baseline.established(design)
    suite = prior = [*base, *after(base, paths.reachability(design))]
    for m in MISCONFIGURATIONS:  # in turn: each starts once the spoke joined again after the one before
        steps = case(design, m, spoke, control, prior)
        suite, prior = suite + steps, steps[-1:]
    return suite
