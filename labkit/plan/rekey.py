"""A design's SA lifetime L is the hard lifetime, as ESR's `lifetime seconds` sets it; strongSwan is told when to
rekey instead. Decided here once, for every node's stand-in: rekey_time 0.8 L less a random part of rand_time
0.1 L (strongSwan subtracts it), so an SA is rekeyed between 0.7 L and 0.8 L, and two peers seldom at once; a
CHILD SA expires at life_time L; an IKE SA whose rekey failed is deleted over_time (L - rekey_time) after its
rekey point, so by L at the latest."""

from __future__ import annotations

from labkit.plan.model import ChildRekey, IkeRekey

REKEY_PERCENT = 80  # rekey_time, of L
RAND_PERCENT = 10  # rand_time, of L


def _share(lifetime_s: int, percent: int) -> int:
    """`percent` of a lifetime in whole seconds, halves rounded up."""
    return (lifetime_s * percent + 50) // 100


def ike_rekey(lifetime_s: int | None) -> IkeRekey | None:
    """The IKE SA's timing for a hard lifetime (None: strongSwan's defaults)."""
    if lifetime_s is None:
        return None
    rekey_s = _share(lifetime_s, REKEY_PERCENT)
    return IkeRekey(rekey_time_s=rekey_s, over_time_s=lifetime_s - rekey_s,
                    rand_time_s=_share(lifetime_s, RAND_PERCENT))


def child_rekey(lifetime_s: int | None) -> ChildRekey | None:
    """A CHILD SA's timing for a hard lifetime (None: strongSwan's defaults)."""
    if lifetime_s is None:
        return None
    return ChildRekey(rekey_time_s=_share(lifetime_s, REKEY_PERCENT), life_time_s=lifetime_s,
                      rand_time_s=_share(lifetime_s, RAND_PERCENT))


def rekey_reason(ike_lifetime_s: int | None, sa_lifetime_s: int | None) -> str:
    """The stand-in difference the lifetimes make, as the node plan and the ESR header state it."""
    given = [f"{what} {s} s" for what, s in (("IKE", ike_lifetime_s), ("IPsec", sa_lifetime_s)) if s]
    return (f"SA lifetimes ({', '.join(given)}) are hard lifetimes L, as ESR's `lifetime seconds`; strongSwan "
            f"rekeys at {REKEY_PERCENT}% of L less a random part of {RAND_PERCENT}% (rekey_time, rand_time), so "
            f"between {REKEY_PERCENT - RAND_PERCENT}% and {REKEY_PERCENT}%, before an IPsec SA expires at L "
            "(life_time) and an IKE SA whose rekey failed is deleted (over_time, by L at the latest)")
