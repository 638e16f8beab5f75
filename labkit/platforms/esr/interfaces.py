"""ESR interface names in one form. A running-config prints them long (`gigabitethernet 1/0/1`, also after
`local interface`), typed input and show output use the short form (`gi1/0/1`, `br127`): the model keeps
the short form without a space."""

from __future__ import annotations

import re

# long name -> short prefix. gigabitethernet/tengigabitethernet: running-configs and typed scripts [V, W];
# bridge -> br: `show ip route` [B]. port-channel -> po, loopback -> lo: ASSUMED (ESR's usual abbreviations).
SHORT_PREFIX = {
    "gigabitethernet": "gi",
    "tengigabitethernet": "te",
    "port-channel": "po",
    "bridge": "br",
    "loopback": "lo",
}
_LONG = re.compile(r"(?P<kind>{})\s*(?P<index>\d\S*)$".format("|".join(map(re.escape, SHORT_PREFIX))))


def short_name(name: str) -> str:
    """`gigabitethernet 1/0/1` -> `gi1/0/1`, `bridge 5` -> `br5`; an already short or unknown name is
    returned without surrounding spaces."""
    name = " ".join(name.split()).lower()
    match = _LONG.fullmatch(name)
    return f"{SHORT_PREFIX[match['kind']]}{match['index']}" if match else name


_PORT = re.compile(r"(?P<kind>[a-z-]+ ?)\d+(?P<slot_port>/\d+/\d+)")


def unit_port(name: str, unit: int) -> str:
    """The port `name` (of unit 1) as unit `unit` of a cluster names it: ESR numbers ports UNIT/SLOT/PORT, and a
    cluster's unit 2 has `gigabitethernet 2/0/1` where unit 1 has `1/0/1` [B, W]."""
    match = _PORT.fullmatch(name)
    if match is None:
        raise ValueError(f"{name!r} is not an ESR port name (UNIT/SLOT/PORT)")
    return f"{match['kind']}{unit}{match['slot_port']}"
