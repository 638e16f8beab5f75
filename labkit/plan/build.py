"""Design -> one NodePlan per hub and spoke: every per-node decision is made here, once."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from labkit.design.model import Design, Site
from labkit.plan.model import (
    BfdTimers,
    BgpPlan,
    BgpSession,
    ClusterPlan,
    ClusterUnit,
    IkeRetransmit,
    IpsecBinding,
    NeighbourProbe,
    NhrpPlan,
    NhsPlan,
    NodePlan,
    PatPlan,
    SpokeGroup,
    StandIn,
    TransportBridge,
    TransportLink,
    TransportPlan,
    VrfPlan,
)
from labkit.plan.rekey import child_rekey, ike_rekey, rekey_reason

HUB_VPN = "DMVPN"
SPOKE_TO_HUB_VPN = "DMVPN-HUB"
SPOKE_TO_SPOKE_VPN = "DMVPN-SPOKE"
NO_DYNAMIC_IN_PHASE1 = ("no spoke-to-spoke VPN: a phase 1 spoke has no shortcut and sends all GRE to a hub, so a "
                        "dynamic VPN accepting any peer would only widen what it answers")
SPOKE_GROUP = "SPOKES"
SYNC_BRIDGE = 20  # the cluster sync's own bridge: both real clusters keep it off data and WAN segments
WAN_BRIDGE = 10
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
PAT_PORTS = (1024, 65535)  # the source ports a PAT translates to: a branch CPE's masquerading keeps clear of 500


def ike_retransmit(dpd_timeout_s: int | None) -> IkeRetransmit:
    """charon's retransmissions: the lab's schedule, or its shape scaled to give a silent peer up once the design's
    DPD timeout has passed (strongswan.conf's schedule is every IKE request's, DPD's among them)."""
    if dpd_timeout_s is None:
        return IKE_RETRANSMIT
    shape = sum(IKE_RETRANSMIT.base ** n for n in range(IKE_RETRANSMIT.tries + 1))
    return replace(IKE_RETRANSMIT, timeout_s=round(dpd_timeout_s / shape, 2))


def plan_design(design: Design) -> dict[str, NodePlan]:
    """Every hub's and spoke's plan, keyed by node name, in the design's order."""
    return {site.name: _node(design, site) for site in design.sites}


def transport_plan(design: Design) -> TransportPlan:
    """The transport router's links: a hub cluster's bridge, the gateway of every site with a link of its own, and
    the PAT in front of each spoke behind one."""
    cluster = design.cluster
    bridge = TransportBridge(IPv4Interface((cluster.segment[1], cluster.segment.prefixlen)),
                             tuple(design.transport_port(h) for h in design.hubs),
                             tuple(h.name for h in design.hubs)) if cluster else None
    return TransportPlan(design.transport.name, bridge, tuple(_link(design, s) for s in design.sites if not s.vip))


def _link(design: Design, site: Site) -> TransportLink:
    port, inside = design.transport_port(site), site.inside
    if inside:
        return TransportLink(port, site.name, inside.gateway, PatPlan(inside.address.network, site.wan.ip, PAT_PORTS))
    return TransportLink(port, site.name, IPv4Interface((site.wan_gateway, site.wan.network.prefixlen)), None)


def _node(design: Design, site: Site) -> NodePlan:
    hub = site.role == "hub"
    inside = site.inside
    return NodePlan(
        name=site.name,
        role=site.role,
        phase=design.phase,
        wan=inside.address if inside else site.wan,
        wan_gateway=inside.gateway.ip if inside else site.wan_gateway,
        wan_pool=design.transport.wan_pool,
        nbma=inside.address.ip if inside else site.nbma,
        pat_outside=site.nbma if inside else None,
        tunnel=IPv4Interface(f"{site.tunnel}/{design.overlay.tunnel_network.prefixlen}"),
        lan=site.lan,
        nhrp=_nhrp(design, site),
        ipsec_mode=design.ipsec.mode,
        ike_establish="route",
        ike_lifetime_s=design.ipsec.ike_lifetime,
        sa_lifetime_s=design.ipsec.sa_lifetime,
        bindings=_bindings(design, site),
        bindings_note=NO_DYNAMIC_IN_PHASE1 if site.role == "spoke" and design.phase == 1 else "",
        bgp=_bgp(design, site),
        vrfs=_vrfs(design, site),
        mpls_forwarding=design.mpls is not None,
        cluster=_cluster(design) if hub and design.cluster else None,
        stand_in=_stand_in(design, site),
    )


def _nhrp(design: Design, site: Site) -> NhrpPlan:
    hub = site.role == "hub"
    nhs = () if hub else tuple(NhsPlan(h.name, h.tunnel, h.nbma) for h in design.nhs)
    return NhrpPlan(
        network_id=design.overlay.nhrp_network_id,
        holdtime=design.overlay.holdtime,
        refresh_s=design.overlay.holdtime // 3,
        nhs=nhs,
        multicast="dynamic" if hub else "nhs",
        redirect=hub and design.phase == 3,
        shortcut=not hub and design.phase >= 2,
    )


def _bindings(design: Design, site: Site) -> tuple[IpsecBinding, ...]:
    """Hubs: one dynamic VPN for any spoke. Spokes: a static VPN towards the hubs' NBMA addresses, plus a
    dynamic one for spoke-to-spoke tunnels, which exist only from phase 2 on (NO_DYNAMIC_IN_PHASE1)."""
    if site.role == "hub":
        return (IpsecBinding(HUB_VPN, "dynamic", (), "any spoke registers with the hub"),)
    hubs = tuple(IPv4Network(f"{h.nbma}/32") for h in design.nhs)
    bindings = [IpsecBinding(SPOKE_TO_HUB_VPN, "static", hubs, "GRE to the hub(s): registration, BGP")]
    if design.phase >= 2:
        bindings.append(IpsecBinding(SPOKE_TO_SPOKE_VPN, "dynamic", (), "spoke-to-spoke GRE after a shortcut"))
    return tuple(bindings)


def _bgp(design: Design, site: Site) -> BgpPlan:
    routing = design.routing
    hub = site.role == "hub"
    networks = (site.lan.network,)
    spokes = {s.name for s in design.spokes}
    return BgpPlan(
        asn=routing.asn,
        router_id=site.tunnel,
        keepalive=routing.keepalive,
        holdtime=routing.holdtime,
        networks=networks,
        aggregate=routing.spoke_summary if hub and routing.hub_advertises == "summary" else None,
        sessions=tuple(_session(design, site, name, address) for name, address in design.bgp_neighbors(site.name)
                       if name not in spokes),
        spoke_group=_spoke_group(design, site) if hub else None,
        bfd=BfdTimers(routing.bfd.interval_ms, routing.bfd.multiplier, routing.bfd.detect_ms) if routing.bfd else None,
    )


def _spoke_group(design: Design, site: Site) -> SpokeGroup:
    """The hub's sessions with spokes, one construct for any number of them."""
    advertises = design.routing.hub_advertises
    return SpokeGroup(
        name=SPOKE_GROUP,
        listen_range=design.overlay.tunnel_network,
        update_source=site.tunnel,
        route_reflector_client=True,
        next_hop_self=advertises != "all" or design.phase == 1,
        default_originate=advertises == "default",
        vpnv4=design.mpls is not None,
        bfd=design.routing.bfd is not None,
    )


def _session(design: Design, site: Site, name: str, address: IPv4Address) -> BgpSession:
    """An explicit session: a spoke's with a hub (over the tunnel), a hub's with another hub or the HQ core."""
    hq = design.headquarters
    to_hq = hq is not None and name == hq.name
    hub = site.role == "hub"
    return BgpSession(
        name=name,
        peer="core" if to_hq else "hub",
        address=address,
        update_source=site.lan.ip if hub else site.tunnel,
        route_reflector_client=hub and to_hq,
        next_hop_self=hub and to_hq,
        default_originate=False,
        vpnv4=design.mpls is not None and not hub,
        bfd=design.routing.bfd is not None,
    )


def _vrfs(design: Design, site: Site) -> tuple[VrfPlan, ...]:
    asn = design.routing.asn
    hub = site.role == "hub"
    return tuple(VrfPlan(vrf.name, vrf.id, f"{site.tunnel}:{vrf.id}", f"{asn}:{vrf.id}", lan,
                         vrf.lan_pool if hub else None)
                 for vrf, lan in design.vrf_lans(site.name))


def _cluster(design: Design) -> ClusterPlan:
    cluster = design.cluster
    units = tuple(ClusterUnit(n, h.name, h.wan, h.lan, 200 - 50 * (n - 1)) for n, h in enumerate(design.hubs, start=1))
    vip = IPv4Interface(f"{cluster.vip}/{cluster.segment.prefixlen}")
    return ClusterPlan(units, cluster.vrrp_id, vip, cluster.advert_ms, SYNC_BRIDGE, WAN_BRIDGE)


def _stand_in(design: Design, site: Site) -> StandIn:
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
        reasons.append("cluster units take their LAN address as BGP router-id (they share the tunnel address); "
                       "keepalived stands in for the cluster's VRRP")
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
