"""Design -> one NodePlan per hub and spoke: every per-node decision is made here, once."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from labkit.design.model import Design, Site
from labkit.plan.model import (
    BfdTimers,
    BgpPlan,
    BgpSession,
    BridgeMember,
    ClusterBridge,
    ClusterPlan,
    ClusterUnit,
    IpsecBinding,
    NhrpPlan,
    NhsPlan,
    NodePlan,
    PatPlan,
    SpokeGroup,
    TransportBridge,
    TransportLink,
    TransportPlan,
    VrfPlan,
)
from labkit.platforms import lab_stand_in
from labkit.platforms.esr.interfaces import unit_port

HUB_VPN = "DMVPN"
SPOKE_TO_HUB_VPN = "DMVPN-HUB"
SPOKE_TO_SPOKE_VPN = "DMVPN-SPOKE"
NO_DYNAMIC_IN_PHASE1 = ("no spoke-to-spoke VPN: a phase 1 spoke has no shortcut and sends all GRE to a hub, so a "
                        "dynamic VPN accepting any peer would only widen what it answers")
SPOKE_GROUP = "SPOKES"
SYNC_BRIDGE = 20  # the cluster sync's own bridge: both real clusters keep it off data and WAN segments
WAN_BRIDGE = 10
LAN_BRIDGE = 30
TUNNEL_ZONE = "DMVPN"
PAT_PORTS = (1024, 65535)  # the source ports a PAT translates to: a branch CPE's masquerading keeps clear of 500


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
        # the ESR manual (MPLS): the firewall must be off on interfaces where LDP and MPLS switching run
        tunnel_zone=None if design.mpls else TUNNEL_ZONE,
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
        stand_in=lab_stand_in(design, site),
    )


def _nhrp(design: Design, site: Site) -> NhrpPlan:
    hub = site.role == "hub"
    nhs = () if hub else tuple(NhsPlan(h.name, h.tunnel, h.nbma) for h in design.nhs)
    return NhrpPlan(
        network_id=design.overlay.nhrp_network_id,
        holdtime=design.overlay.holdtime,
        refresh_s=design.overlay.holdtime // 3,
        nhs=nhs,
        multicast="dynamic",
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
        update_source=(design.cluster.lan_vip if design.cluster else site.lan.ip) if hub else site.tunnel,
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
    """The cluster's units, and its bridges: each joins a port of each unit and has per-unit addresses and its own
    VRRP group, as in the real ESR and WLC clusters seen."""
    cluster, hubs = design.cluster, design.hubs
    units = tuple(ClusterUnit(n, h.name, 200 - 50 * (n - 1)) for n, h in enumerate(hubs, start=1))
    wan_id, lan_id, sync_id = (_vrrp_id(cluster.vrrp_id, k) for k in range(3))
    sync = cluster.sync_network
    return ClusterPlan(
        name="+".join(u.name for u in units),
        units=units,
        advert_ms=cluster.advert_ms,
        sync=_bridge(SYNC_BRIDGE, "cluster sync only", None, [h.model.sync_port for h in hubs],
                     [IPv4Interface((sync[1 + u.number], sync.prefixlen)) for u in units], sync_id, sync[1]),
        wan=_bridge(WAN_BRIDGE, f"WAN (NBMA) to {design.transport.name}", "WAN", [h.model.wan_port for h in hubs],
                    [h.wan for h in hubs], wan_id, cluster.vip),
        lan=_bridge(LAN_BRIDGE, f"LAN {hubs[0].lan.network}", "LAN", [h.model.lan_port for h in hubs],
                    [h.lan for h in hubs], lan_id, cluster.lan_vip),
    )


def _vrrp_id(first: int, offset: int) -> int:
    """The design's VRRP id (the WAN's) moved on by `offset`, within 1-255: the HQ segment's and the sync bridge's."""
    return (first - 1 + offset) % 255 + 1


def _bridge(number: int, description: str, zone: str | None, ports: list[str], addresses: list[IPv4Interface],
            vrrp_id: int, vip: IPv4Address) -> ClusterBridge:
    """A cluster bridge over unit 1's `ports[0]`, unit 2's `ports[1]` (renamed for its unit), ... with their
    addresses, and the VRRP address `vip` on the same network."""
    members = tuple(BridgeMember(n, unit_port(port, n), address)
                    for n, (port, address) in enumerate(zip(ports, addresses, strict=True), start=1))
    return ClusterBridge(number, description, zone, members, vrrp_id,
                         IPv4Interface((vip, addresses[0].network.prefixlen)))
