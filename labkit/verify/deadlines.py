"""How long the lab takes to shut a refused spoke out and to let it back in, derived from the design's timers
(NHRP holdtime, DPD, BGP), the node plan's (IKE retransmission, BGP connect retry) and what the stand-ins do
by themselves (each constant names its source). Checks that wait on those take these as their deadlines."""

from __future__ import annotations

from labkit.design.model import Design
from labkit.plan import plan_design

# FRR 8.4 nhrpd (nhrp_nhs.c, nhrp_reg_timeout): an unanswered registration is sent again after 2 s, the wait
# doubling up to 64 s, then from 2 s again
NHRP_RETRIES_S = (2, 4, 8, 16, 32, 64)
NHRP_NHS_DROPPED_AT_S = 16  # (the same) once an unanswered wait reached this, the spoke drops its NHS registration
# Linux's default net.core.xfrm_acq_expires: after an IKE exchange started by a trap failed, the kernel's
# larval SA from that acquire lives on this long, and no packet to that peer starts another until it is gone
XFRM_ACQ_EXPIRES_S = 30
COMMAND_MARGIN_S = 10  # one more round of a check's commands (a vtysh call takes ~0.7 s under emulation)


def _spoke_stand_in(design: Design):
    return plan_design(design)[design.spokes[0].name].stand_in


def kept_out_within_s(design: Design) -> float:
    """A spoke whose registrations, IKE or GRE are refused is gone from its hubs' state and they from its own
    within: its NHRP cache entry on a hub expires one holdtime after its last accepted registration; the spoke
    drops its NHS registration once its next renewal (a third of the holdtime on) and the retries after it
    went unanswered up to a wait of NHRP_NHS_DROPPED_AT_S; BGP ends after its hold time, an SA the fault did not
    end after a DPD interval and charon's retransmissions."""
    ike = _spoke_stand_in(design).ike_retransmit
    nhs = design.overlay.holdtime // 3 + sum(w for w in NHRP_RETRIES_S if w <= NHRP_NHS_DROPPED_AT_S)
    waits = (design.overlay.holdtime, nhs, design.routing.holdtime, design.ipsec.dpd_interval + ike.give_up_s)
    return max(waits) + COMMAND_MARGIN_S


def joined_within_s(design: Design) -> float:
    """A spoke whose misconfiguration was put right has registered, peers and is routed again within: the
    kernel lets the trap start IKE once the failed attempt's larval SA expired; the registration that starts it
    is lost while IKE runs, and nhrpd's next two retries may be the longest two apart; the IKE exchange ends
    within charon's retransmissions; BGP connects within its connect retry and exchanges routes within a
    keepalive."""
    stand_in = _spoke_stand_in(design)
    nhrp = sum(sorted(NHRP_RETRIES_S)[-2:])
    return (XFRM_ACQ_EXPIRES_S + nhrp + stand_in.ike_retransmit.give_up_s + stand_in.bgp_connect_retry_s
            + design.routing.keepalive + COMMAND_MARGIN_S)


def timers(design: Design) -> dict:
    """The figures the deadlines come from, for the report."""
    stand_in = _spoke_stand_in(design)
    return {"nhrp_holdtime_s": design.overlay.holdtime, "nhrp_registration_s": design.overlay.holdtime // 3,
            "nhrp_retries_s": list(NHRP_RETRIES_S), "xfrm_acq_expires_s": XFRM_ACQ_EXPIRES_S,
            "dpd_interval_s": design.ipsec.dpd_interval, "ike_give_up_s": stand_in.ike_retransmit.give_up_s,
            "bgp_keepalive_s": design.routing.keepalive, "bgp_holdtime_s": design.routing.holdtime,
            "bgp_connect_retry_s": stand_in.bgp_connect_retry_s}
