"""Faults a runtime injects into a running node, as shell run inside the node (any runtime's `exec`).

A node's router processes are the FRR daemons and charon, found by their pid files under the node's
private /run. Restarting a node undoes what its start script did, then runs the script again.
"""

from __future__ import annotations

import shlex

ROUTER_PIDS = "/run/frr/*.pid /run/charon.pid /run/keepalived.pid /run/vrrp.pid"
KILL_ROUTER = f'for p in {ROUTER_PIDS}; do [ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null; done; true'
LINKS = "ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -v '^lo$'"
RESET = (
    f"{KILL_ROUTER}; sleep 0.2; rm -rf /run/frr /run/charon.* /run/*.log /run/*.out /run/*.pid; "
    "for l in gre1 lan0 br0; do ip link del $l 2>/dev/null || true; done; "
    f"for l in $({LINKS}); do ip addr flush dev $l; done; "
    "ip route flush table main; ip xfrm state flush; ip xfrm policy flush; "
    "for t in filter mangle; do iptables -t $t -F; done"
)

FAULTS: dict[str, str] = {
    # every router process stops at once (SIGKILL) and every link of the node goes down
    "node_fail": f"{KILL_ROUTER}; for l in $({LINKS}); do ip link set $l down; done",
    # the node starts from scratch: a restarted router, or a failed one coming back
    "node_start": f"{RESET}; for l in $({LINKS}); do ip link set $l up; done; sh /etc/labkit/start.sh",
    "link_down": "ip link set {interface} down",
    "link_up": "ip link set {interface} up",
    # charon stops (its SAs leave the kernel with it) and starts again with the node's connections
    "ipsec_restart": (
        'pid=$(cat /run/charon.pid); kill "$pid"; n=0; while kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do '
        "n=$((n + 1)); sleep 0.1; done; rm -f /run/charon.vici /run/charon.pid; sh /etc/labkit/ipsec-start.sh"
    ),
}


def fault_script(fault: str, **params: str) -> str:
    """The shell script injecting `fault` with its parameters quoted; KeyError names unknown faults."""
    if fault not in FAULTS:
        raise KeyError(f"unknown fault {fault!r}; faults: {', '.join(FAULTS)}")
    script = FAULTS[fault]
    for name, value in params.items():
        script = script.replace("{" + name + "}", shlex.quote(str(value)))
    return script
