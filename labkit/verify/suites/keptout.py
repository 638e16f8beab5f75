"""Kept out, and proven out: for a design that lists misconfigurations (`misconfigure:`), after the story, each
misconfiguration applied in place and alone on its spoke: the spoke shown out of the hubs' state and its traffic
refused (the first spoke as positive control), the spokes not under test undisturbed; then the design's
configuration put back in place and the spoke shown to join. A misconfiguration that keeps nothing out by
design is shown not to.

The misconfigurations take turns on the last spokes, in lanes that run at the same time: two lanes where the
design has two spokes besides the control and a witness spoke (which shows spoke-to-spoke traffic undisturbed),
else one. A spoke's join after a restore waits out charon's and nhrpd's retry backoffs (over a minute), so a
second lane nearly halves the part's time."""

from __future__ import annotations

from collections.abc import Sequence

from labkit.design.model import Design, Misconfiguration, Site
from labkit.verify.checks import keptout
from labkit.verify.engine import Check
from labkit.verify.schedule import after
from labkit.verify.suites.part import Part, Suite, field

MAX_LANES = 2
SPARED = 2  # spokes never misconfigured: the control, and a witness for the undisturbed spoke-to-spoke traffic


def lanes(design: Design) -> list[Site]:
    """The spokes the misconfigurations take turns on: the last ones, as many as may be spared."""
    count = max(1, min(MAX_LANES, len(design.spokes) - SPARED))
    return list(design.spokes[-count:])


def case(design: Design, m: Misconfiguration, spoke: Site, control: Site, under_test: Sequence[Site],
         prior: list[Check], first: bool) -> list[Check]:
    """One misconfiguration, applied once `prior` passed (the `first` of the part alone, after every earlier
    check): its proofs, then its restore (once the proofs ended, whatever they found) and the spoke joining
    again. `under_test`: every spoke some lane may have misconfigured meanwhile, left out of what must be
    undisturbed."""
    [apply] = after(prior, keptout.applied(design, spoke, m.fault, m.title, alone=first))
    if m.ipsec_left is None:
        proofs = after([apply], keptout.stays_in(design, spoke, control, m.fault))
    else:
        [out] = after([apply], keptout.kept_out(design, spoke, m.fault, m.ipsec_left))
        proofs = [out, *after([out], keptout.unreachable(design, spoke, control, m.fault),
                              keptout.undisturbed(design, under_test, m.fault))]
    [restore] = after(prior, keptout.restored(design, spoke, m.fault, follows=[apply, *proofs]))
    return [apply, *proofs, restore, *after([restore], keptout.joined(design, spoke, m.fault))]


def _checks(suite: Suite) -> list[Check]:
    design = suite.checked
    control, spokes = design.spokes[0], lanes(design)
    checks: list[Check] = []
    prior = {spoke.name: list(suite.ready) for spoke in spokes}
    for index, m in enumerate(suite.design.misconfigure):  # in turn per lane: each once the one before joined
        spoke = spokes[index % len(spokes)]
        steps = case(design, m, spoke, control, spokes, prior[spoke.name], first=not checks)
        checks, prior[spoke.name] = checks + steps, steps[-1:]
    return checks


PART = Part("misconfigurations kept out", "faults", (field("misconfigure", lambda design: design.misconfigure),),
            _checks)
