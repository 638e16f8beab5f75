"""Address pools: the defaults, fixed and large enough for thousands of spokes (so that adding a spoke never
changes a pool, and with it every device's config), and how much room a pool has."""

from __future__ import annotations

from ipaddress import IPv4Network

WAN_LINK_PREFIXLEN = 30  # every site's link to the transport router
WAN_SPACE = IPv4Network("100.64.0.0/10")  # shared address space, the lab's "internet": 1,048,576 links
TUNNEL_SPACE = IPv4Network("10.255.0.0/16")  # 65,524 spokes (spoke N is host 10+N)
LAN_SPACE = IPv4Network("172.16.0.0/12")  # 4,095 spoke LANs of /24, 16,383 of /26
NAT_INSIDE_SPACE = IPv4Network("192.168.0.0/16")  # links of spokes to their PATs: 16,383 /30s (spoke N: the Nth)
CLUSTER_SYNC_SPACE = IPv4Network("10.254.255.248/29")  # a cluster's sync bridge: VRRP and 2 units, off the other pools
SPOKE_TUNNEL_OFFSET = 10  # spoke N gets host number 10+N of the tunnel network; hubs get 1..9


def prefixlen_for(blocks: int, block_prefixlen: int) -> int:
    """The prefix length of the smallest network holding `blocks` subnets of /block_prefixlen."""
    return block_prefixlen - max(blocks - 1, 0).bit_length()


def room(pool: IPv4Network, block_prefixlen: int) -> int:
    """How many subnets of /block_prefixlen the pool holds."""
    return 2 ** (block_prefixlen - pool.prefixlen) if block_prefixlen >= pool.prefixlen else 0


def larger(pool: IPv4Network, blocks: int, block_prefixlen: int) -> str:
    """What to set instead of a pool that is too small, e.g. 'use a /22 or larger, e.g. 198.51.100.0/22'."""
    prefixlen = prefixlen_for(blocks, block_prefixlen)
    if prefixlen < 1:
        return "no IPv4 network is large enough"
    return f"use a /{prefixlen} or larger, e.g. {pool.supernet(new_prefix=min(prefixlen, pool.prefixlen))}"
