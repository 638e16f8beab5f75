"""Address pools: the default ones, sized from the number of sites, and how much room a pool has."""

from __future__ import annotations

from ipaddress import IPv4Network

WAN_LINK_PREFIXLEN = 30  # every site's link to the transport router
WAN_SPACE = IPv4Network("100.64.0.0/10")  # shared address space: the lab's "internet"
TUNNEL_SPACE = IPv4Network("10.255.0.0/16")
LAN_SPACE = IPv4Network("172.16.0.0/12")


def prefixlen_for(blocks: int, block_prefixlen: int) -> int:
    """The prefix length of the smallest network holding `blocks` subnets of /block_prefixlen."""
    return block_prefixlen - max(blocks - 1, 0).bit_length()


def default_pool(space: IPv4Network, blocks: int, block_prefixlen: int, smallest: int) -> IPv4Network | None:
    """The first network of `space` holding `blocks` subnets of /block_prefixlen (at least a /smallest),
    or None when `space` itself is too small."""
    prefixlen = min(prefixlen_for(blocks, block_prefixlen), smallest)
    if prefixlen < space.prefixlen:
        return None
    return next(space.subnets(new_prefix=prefixlen))


def room(pool: IPv4Network, block_prefixlen: int) -> int:
    """How many subnets of /block_prefixlen the pool holds."""
    return 2 ** (block_prefixlen - pool.prefixlen) if block_prefixlen >= pool.prefixlen else 0


def larger(pool: IPv4Network, blocks: int, block_prefixlen: int) -> str:
    """What to set instead of a pool that is too small, e.g. 'use a /22 or larger, e.g. 198.51.100.0/22'."""
    prefixlen = prefixlen_for(blocks, block_prefixlen)
    if prefixlen < 1:
        return "no IPv4 network is large enough"
    return f"use a /{prefixlen} or larger, e.g. {pool.supernet(new_prefix=min(prefixlen, pool.prefixlen))}"
