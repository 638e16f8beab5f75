"""Where the lab's stand-in (FRR and strongSwan) of a hub or spoke must differ from its ESR configuration, and why:
decided once per node, read by the node plan (labkit.platforms.lab_stand_in) and so by every output.

SA lifetimes: a design's SA lifetime L is the hard lifetime, as ESR's `lifetime seconds` sets it; strongSwan is told
when to rekey instead: rekey_time 0.8 L less a random part of rand_time 0.1 L (strongSwan subtracts it), so an SA is
rekeyed between 0.7 L and 0.8 L, and two peers seldom at once; a CHILD SA expires at life_time L; an IKE SA whose
rekey failed is deleted over_time (L - rekey_time) after its rekey point, so by L at the latest."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address

from labkit.design.model import Design, Site
from labkit.plan.build import PAT_PORTS
from labkit.plan.model import IF_SET


@dataclass(frozen=True)
class NeighbourProbe:
    """How often the kernel asks about a tunnel neighbour in use (`net.ipv4.neigh.gre1.*`): each ask tells nhrpd the
    neighbour is used, the only way it learns a shortcut carries traffic.

    The kernel draws a device's reachable time from [0.5, 1.5) x `reachable_ms`. Its shortest must outlast
    `first_probe_delay_s`: a neighbour that nhrpd has just refreshed and that expires within the probe delay counts
    as used, is probed, refreshed again, and so forever, with no traffic at all; nhrpd then renews every shortcut
    and never purges one (seen in about half the dual-hub labs, with 1000 ms and 1 s)."""

    reachable_ms: int  # base_reachable_time_ms
    first_probe_delay_s: int  # delay_first_probe_time

    def __post_init__(self) -> None:
        if self.reachable_ms // 2 <= self.first_probe_delay_s * 1000:
            raise ValueError(f"a reachable time of {self.reachable_ms} ms may expire within the first probe's delay "
                             f"({self.first_probe_delay_s} s): idle neighbours would be probed forever")


@dataclass(frozen=True)
class IkeRetransmit:
    """How charon retransmits an unanswered IKE request (strongswan.conf `retransmit_*`): after `timeout_s`,
    then each wait `base` times the one before, `tries` times; one more wait later the peer is given up."""

    timeout_s: float
    base: float
    tries: int

    @property
    def waits(self) -> tuple[float, ...]:
        """charon's waits for an answer, one per sending of the request (2, 2.8, 3.9, 5.5 s by default)."""
        return tuple(round(self.timeout_s * self.base ** n, 1) for n in range(self.tries + 1))

    @property
    def give_up_s(self) -> float:
        """Seconds from an unanswered request until charon gives the peer up (2 + 2.8 + 3.9 + 5.5 s = 14.2 s)."""
        return round(sum(self.timeout_s * self.base ** n for n in range(self.tries + 1)), 1)

    @property
    def described(self) -> str:
        """The waits as a sum, e.g. '2 + 2.8 + 3.9 + 5.5 s'."""
        return " + ".join(f"{w:g}" for w in self.waits) + " s"


@dataclass(frozen=True)
class IkeRekey:
    """strongSwan's timing for an IKE SA (swanctl `rekey_time`, `over_time`, `rand_time`): rekeyed `rekey_time` less
    a random part of `rand_time` after it was made; deleted `over_time` after that point if the rekey failed."""

    rekey_time_s: int
    over_time_s: int
    rand_time_s: int


@dataclass(frozen=True)
class ChildRekey:
    """strongSwan's timing for a CHILD (IPsec) SA (swanctl `rekey_time`, `life_time`, `rand_time`): rekeyed
    `rekey_time` less a random part of `rand_time` after it was made; expired by the kernel at `life_time`."""

    rekey_time_s: int
    life_time_s: int
    rand_time_s: int


@dataclass(frozen=True)
class StandIn:
    """Where the FRR/strongSwan stand-in of the node must differ from its ESR config; `reasons` says why."""

    tunnel_prefixlen: int  # nhrpd ignores any prefix length but /32 on an NHRP interface
    redirect_nflog: bool  # nhrpd redirects only traffic shown to it through NFLOG group 1
    advertise_tunnel_network: bool  # spokes need a route to the tunnel net or phase 3 fails silently
    router_id: IPv4Address
    ipsec_initiates: bool  # strongSwan trap policy (spokes) or respond only (hubs)
    # every CHILD SA of an initiating node shares this reqid: when two spokes key an SA to each other at once, the
    # SA each responded to would otherwise get a reqid of its own, and the kernel drops (XfrmInTmplMismatch) what
    # the peer sends on it, because the policies name the reqid of the SA this end initiated; None on hubs
    shared_reqid: int | None
    hub_pair_filters: bool  # two summarising hubs: prefix-lists keep spoke LANs between them only
    # a silent peer is given up in about 14 s (or the design's DPD timeout) instead of strongSwan's default 165 s,
    # so a restarted hub is re-keyed
    ike_retransmit: IkeRetransmit
    # spokes retry a BGP connection every 2 s (FRR's default 120 s stalls a spoke whose first SYN left before
    # NHRP installed the hub's route); None on hubs, which only listen to spokes
    bgp_connect_retry_s: int | None
    # strongSwan answers IKE on any of the node's addresses (local_addrs %any), not only its design WAN address:
    # for a spoke whose WAN address can change (the wan_address_change case); else its NBMA address
    ike_any_local_address: bool
    # a spoke with shortcuts has its tunnel neighbours asked about every second while traffic flows, so that nhrpd
    # renews a shortcut whose covering route changed (a hub failing over) instead of dropping it; None elsewhere
    neighbour_probe: NeighbourProbe | None = field(metadata=IF_SET)
    # rekey timing from the design's SA lifetimes (above); None: strongSwan's defaults (hours)
    ike_rekey: IkeRekey | None = field(metadata=IF_SET)
    child_rekey: ChildRekey | None = field(metadata=IF_SET)
    reasons: tuple[str, ...]


IKE_RETRANSMIT = IkeRetransmit(timeout_s=2, base=1.4, tries=3)
BGP_CONNECT_RETRY_S = 2
SHARED_REQID = 1  # the reqid of every CHILD SA a spoke holds, whoever initiated it (StandIn.shared_reqid)
# FRR 8.4.4 nhrpd (nhrp_shortcut.c, nhrp_shortcut_purge): a route covering a shortcut that changes (the BGP summary
# moving from a failed hub to the other) starts a 3 s purge, cancelled by a renewed resolution, which nhrpd sends
# only if the kernel reported the peer's neighbour entry used meanwhile (a probe: RTM_GETNEIGH). With the kernel's
# defaults (reachable 15-45 s, first probe after 5 s) such a report rarely falls in those 3 s, and the shortcut
# went in most hub failures (0 of 8 covering-route changes survived, 8 of 8 with a reachable time of 1000 ms, in the
# lab). 2500 ms: a reachable time of 1.25-3.75 s outlasts the 1 s probe delay, so an idle neighbour goes stale
# (NeighbourProbe), and a neighbour in use is still reported within 3 s
SHORTCUT_NEIGHBOUR_PROBE = NeighbourProbe(reachable_ms=2500, first_probe_delay_s=1)
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


def ike_retransmit(dpd_timeout_s: int | None) -> IkeRetransmit:
    """charon's retransmissions: the lab's schedule, or its shape scaled to give a silent peer up once the design's
    DPD timeout has passed (strongswan.conf's schedule is every IKE request's, DPD's among them)."""
    if dpd_timeout_s is None:
        return IKE_RETRANSMIT
    shape = sum(IKE_RETRANSMIT.base ** n for n in range(IKE_RETRANSMIT.tries + 1))
    return replace(IKE_RETRANSMIT, timeout_s=round(dpd_timeout_s / shape, 2))


def stand_in(design: Design, site: Site) -> StandIn:
    """The node's stand-in: its differences from the ESR configuration, each with its reason."""
    hub = site.role == "hub"
    redirect_nflog = hub and design.phase >= 2
    reasons = ["tunnel address /32: FRR 8.4 nhrpd ignores any other prefix length on an NHRP interface"]
    if hub:
        reasons += ["hub advertises the tunnel network in BGP: nhrpd answers a resolution only if the "
                    "requester's tunnel address routes over the NHRP interface (on ESR the /"
                    f"{design.overlay.tunnel_network.prefixlen} tunnel address is a connected route)",
                    "strongSwan only responds on the hub (a trapping hub races spokes into duplicate SAs)"]
    else:
        reasons.append("strongSwan starts IKE from a trap on the first GRE packet: ESR `ike establish-tunnel route`")
        reasons.append("strongSwan gives every CHILD SA of the spoke reqid 1, those it answers as those it starts: "
                       "with its default, two spokes keying an SA to each other at the same moment black-hole each "
                       "other (the kernel drops what the peer sends on the SA this end answered)")
    if redirect_nflog:
        reasons.append("nhrpd redirect + NFLOG group 1 on the hub: nhrpd learns of spoke-to-spoke traffic only "
                       "through NFLOG" + (" and starts no resolution by itself in phase 2, where ESR needs no "
                                          "redirect" if design.phase == 2 else ""))
    cluster_unit = hub and design.cluster is not None
    hub_pair = (hub and design.headquarters is not None and design.routing.hub_advertises == "summary"
                and len(design.hubs) > 1 and not design.cluster)
    if hub_pair:
        reasons.append("the hubs exchange the spoke LANs (prefix-lists ONLY-SPOKE-SUMMARY, NOT-SPOKE-SUMMARY): "
                       "FRR 8.4 does not bring back its own aggregate while a peer's copy is in the table")
    if cluster_unit:
        reasons.append("cluster units take their LAN address as BGP router-id (they share the tunnel address) and "
                       "each peers with the HQ core from it (the ESR cluster peers from the HQ segment's VRRP "
                       "address); keepalived stands in for the cluster's VRRP on the WAN; no sync link")
    renumbered = not hub and design.has_case("wan_address_change")
    if renumbered:
        reasons.append("strongSwan answers IKE on any address of the spoke (local_addrs %any), so that a spoke whose "
                       "WAN address changed still accepts other spokes' IKE: a branch with a changing (DHCP) WAN "
                       "address needs the same of its ESR IKE gateways instead of `local address`")
    # only where a covering route changes under a shortcut: a hub pair or cluster failing over. With one hub the
    # probes would change what a blocked spoke-to-spoke underlay does (the shortcut dropped and made again in turn
    # instead of kept over the dead path: edge.underlay_blocked's known gap)
    probe_neighbours = not hub and design.phase >= 2 and len(design.hubs) > 1
    if probe_neighbours:
        probe = SHORTCUT_NEIGHBOUR_PROBE
        reasons.append("the spoke's tunnel neighbours are probed every few seconds while traffic flows "
                       f"(net.ipv4.neigh.gre1.base_reachable_time_ms {probe.reachable_ms}, delay_first_probe_time "
                       f"{probe.first_probe_delay_s}): FRR 8.4.4 nhrpd "
                       "renews a shortcut whose covering route changed (a hub failing over) only if the kernel "
                       "reported the neighbour used within 3 s, else drops it")
    if site.inside:
        reasons += _pat_reasons(design, site)
    ipsec = design.ipsec
    if ipsec.dpd_timeout:
        schedule = ike_retransmit(ipsec.dpd_timeout)
        reasons.append(f"charon gives a silent peer up after {schedule.described}, the design's DPD timeout "
                       f"({ipsec.dpd_timeout} s), for every IKE request: strongSwan has no timeout for DPD alone")
    if ipsec.ike_lifetime or ipsec.sa_lifetime:
        reasons.append(rekey_reason(ipsec.ike_lifetime, ipsec.sa_lifetime))
    return StandIn(
        tunnel_prefixlen=32,
        redirect_nflog=redirect_nflog,
        advertise_tunnel_network=hub,
        router_id=site.lan.ip if cluster_unit else site.tunnel,
        ipsec_initiates=not hub,
        shared_reqid=None if hub else SHARED_REQID,
        hub_pair_filters=hub_pair,
        ike_retransmit=ike_retransmit(ipsec.dpd_timeout),
        bgp_connect_retry_s=None if hub else BGP_CONNECT_RETRY_S,
        ike_any_local_address=renumbered,
        neighbour_probe=SHORTCUT_NEIGHBOUR_PROBE if probe_neighbours else None,
        ike_rekey=ike_rekey(ipsec.ike_lifetime),
        child_rekey=child_rekey(ipsec.sa_lifetime),
        reasons=tuple(reasons),
    )


def _pat_reasons(design: Design, site: Site) -> list[str]:
    """A spoke behind a PAT: the lab's PAT, and the shortcut to another spoke behind one that cannot work."""
    lo, hi = PAT_PORTS
    reasons = [f"the PAT in front of this spoke (a branch CPE or the provider) is the lab's transport router: "
               f"{site.inside.address.network} leaves from {site.wan.ip}, UDP and TCP from ports {lo}-{hi}"]
    if design.phase >= 2 and len(design.natted_spokes) > 1:
        reasons.append("to another spoke behind a PAT no direct tunnel can come up (each PAT drops the IKE the other "
                       "sends); FRR 8.4.4 nhrpd installs the shortcut all the same and black-holes that traffic "
                       "until the shortcut expires, where DMVPN keeps it on the hub path: a stand-in gap the lab "
                       "proves as such (labkit/data/cases.yml, pat_to_pat); ESR's behaviour is not verified here")
    return reasons
