"""Kept out, and proven out: for a design that lists misconfigurations (`misconfigure:`), after the story, one
misconfiguration after another on the last spoke, each applied in place and alone: the spoke shown out of the
hubs' state and its traffic refused (the first spoke as positive control), the rest undisturbed; then the
design's configuration put back in place and the spoke shown to join. A misconfiguration that keeps nothing
out by design is shown not to."""

from __future__ import annotations

from labkit.design.model import Design, Misconfiguration, Site
from labkit.verify.checks import keptout
from labkit.verify.engine import Check
from labkit.verify.schedule import after
from labkit.verify.suites.part import Part, Suite


def case(design: Design, m: Misconfiguration, spoke: Site, control: Site, prior: list[Check]) -> list[Check]:
    """One misconfiguration, applied once `prior` passed: its proofs, then its restore (which runs whenever the
    apply could, whatever the proofs found) and the spoke joining again."""
    [apply] = after(prior, keptout.applied(design, spoke, m.fault, m.title))
    if m.ipsec_left is None:
        proofs = after([apply], keptout.stays_in(design, spoke, control, m.fault))
    else:
        [out] = after([apply], keptout.kept_out(design, spoke, m.fault, m.ipsec_left))
        proofs = [out, *after([out], keptout.unreachable(design, spoke, control, m.fault),
                              keptout.undisturbed(design, spoke, m.fault))]
    [restore] = after(prior, keptout.restored(design, spoke, m.fault))
    return [apply, *proofs, restore, *after([restore], keptout.joined(design, spoke, m.fault))]


def _checks(suite: Suite) -> list[Check]:
    design = suite.checked
    spoke, control = design.spokes[-1], design.spokes[0]
    checks: list[Check] = []
    prior = list(suite.ready)
    for m in suite.design.misconfigure:  # in turn: each starts once the spoke joined again after the one before
        steps = case(design, m, spoke, control, prior)
        checks, prior = checks + steps, steps[-1:]
    return checks


PART = Part("misconfigurations kept out", "faults", lambda design: bool(design.misconfigure), _checks)
