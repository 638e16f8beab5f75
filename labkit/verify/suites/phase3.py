"""DMVPN phase 3: registration, IPsec, routing with a summarised hub, then the redirect/shortcut story
told in order (absent, via hub, installed, direct, own SA), reachability, encryption, purge on idle."""

from __future__ import annotations

from labkit.design.model import Design
from labkit.verify.checks import ipsec, nhrp, paths
from labkit.verify.engine import Check
from labkit.verify.schedule import after, chain
from labkit.verify.suites import baseline


def checks(design: Design) -> list[Check]:
    hub = design.hubs[0]
    src, dst = design.spokes[0], design.spokes[1]
    base = baseline.established(design)
    return [
        *base,
        # the shortcut story between two spokes, in order; the full mesh comes last, as it uses that shortcut
        *after(base, *chain(
            nhrp.shortcut_absent(src, dst, clear_first=True),
            paths.path_via_hub(design, src, dst),
            paths.shortcut_installed(src, dst),
            paths.direct_path(src, dst),
            ipsec.spoke_spoke_sa(src, dst),
            paths.reachability(design),
            nhrp.shortcut_absent(src, dst, clear_first=False, deadline_s=nhrp.purge_deadline_s(design)),
        )),
        # spoke-hub traffic touches no shortcut: alongside the story
        *after(base, ipsec.esp_counters_grow(src, hub), ipsec.transport_sees_only_esp(design, src, hub)),
    ]
