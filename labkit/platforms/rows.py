"""Converters shared by platforms whose TTP templates give a row the same fields (a BGP summary row, an NHRP cache
row, a ping's summary), and the helpers every platform's converters use. Each gives the neutral state model's words
(labkit.verify.state): a session that is up is `up`, whatever the platform calls it."""

from __future__ import annotations

import re
from ipaddress import IPv4Address
from typing import Any

from labkit.verify.state import UP, BgpPeer, NhrpEntry, PingResult


def ip(value: Any) -> IPv4Address | None:
    """An address as a table prints it (`*` marks, or `*` alone for none)."""
    return IPv4Address(value.lstrip("*")) if value and value != "*" else None


def state_word(shown: str, up: str) -> str:
    """A platform's state as the model says it: `up` for the platform's word for up, its own word otherwise."""
    return UP if shown.lower() == up.lower() else shown.lower()


def bgp_peer(r: dict) -> BgpPeer:
    """A BGP summary row: its State/PfxRcd column is a count once the session is Established, the state before."""
    state_pfx = r["state_pfx"]
    established = state_pfx.isdigit()
    return BgpPeer(neighbor=ip(r["neighbor"]), remote_as=int(r["remote_as"]),
                   state=UP if established else state_pfx.lower(),
                   prefixes_received=int(state_pfx) if established else None,
                   uptime_s=up_down_s(r.get("up_down", "")) if established else None)


# the Up/Down column: ESR `dd,hh:mm:ss`; FRR `hh:mm:ss` under a day, then `1d02h03m`, `02w1d03h`, `01y02w3d`
# (bgpd.c peer_uptime)
_CLOCK = re.compile(r"(?:(\d+),)?(\d+):(\d+):(\d+)")
_UNITS = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")
_UNIT_S = (365 * 86400, 7 * 86400, 86400, 3600, 60)


def up_down_s(text: str) -> int | None:
    """Seconds in a BGP summary's Up/Down column; None for a form it does not take (`never`)."""
    if clock := _CLOCK.fullmatch(text):
        days, hours, minutes, seconds = (int(g or 0) for g in clock.groups())
        return ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    units = _UNITS.fullmatch(text)
    if not text or units is None:
        return None
    return sum(int(g or 0) * unit for g, unit in zip(units.groups(), _UNIT_S, strict=True))


def ping(r: dict) -> PingResult:
    """A ping's summary, and the smallest path MTU it was told (with DF set)."""
    if "result" not in r and "refused" in r:  # no route: nothing sent
        return PingResult(0, 0, None)
    told = r.get("told", [])
    told = [told] if isinstance(told, dict) else told
    return PingResult(int(r["result"]["sent"]), int(r["result"]["received"]),
                      min((int(t["mtu"]) for t in told), default=None))


def nhrp_entry(r: dict) -> NhrpEntry:
    return NhrpEntry(r["interface"], r["kind"], ip(r["protocol"]), ip(r["nbma"]), ip(r.get("claimed_nbma")))


SHARED = {"BgpPeer": ("entries", bgp_peer), "NhrpEntry": ("entries", nhrp_entry), "PingResult": (None, ping)}
