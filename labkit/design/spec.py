"""Every field of a design file, declared once: its kind (the check the parser makes), whether it is required, its
default and what it means. The parser reads each value through `take`; `labkit schema` writes the JSON Schema
(labkit.design.schema) and the field reference (labkit.design.reference) from the same declarations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from labkit.design.catalog import edge_cases, misconfigurations
from labkit.design.fields import DEFAULT, REQUIRED, Fields
from labkit.design.kinds import (
    ADDRESS,
    INTERFACE,
    NETWORK,
    Catalogued,
    Choice,
    Esr,
    EsrList,
    Integer,
    SpokeNames,
    Text,
    Value,
)
from labkit.design.pools import (
    CLUSTER_SYNC_SPACE,
    LAN_SPACE,
    NAT_INSIDE_SPACE,
    SPOKE_TUNNEL_OFFSET,
    TUNNEL_SPACE,
    WAN_LINK_PREFIXLEN,
    WAN_SPACE,
)

NAME = r"[a-z][a-z0-9-]{0,14}"
NAME_HINT = "; use 1-15 lower-case letters, digits or '-', starting with a letter"
LAB_NAME = r"[a-z][a-z0-9-]{0,23}"
VRF_NAME = r"[A-Za-z][A-Za-z0-9_-]{0,14}"  # a Linux interface name: the VRF device is named after it
ENCRYPTIONS = ("aes128", "aes256", "aes128gcm16", "aes256gcm16")
INTEGRITIES = ("sha1", "sha256", "sha384", "sha512")
DH_GROUPS = (14, 15, 16, 19, 20, 21)
DEFAULT_ADVERTISE = {1: "all", 2: "all", 3: "summary"}
# SA lifetimes, whole seconds. Below a minute the stand-in's rekey (at 0.7-0.8 of the lifetime, see the plan) would
# leave under 12 s before expiry, less than one IKE exchange with its retransmissions takes under emulation; a day
# is the usual ceiling of IKE/IPsec lifetimes, and longer than any lab runs, so a longer one would prove nothing.
LIFETIME_S = Integer(60, 86400)


@dataclass(frozen=True)
class Field:
    """One key of a design mapping: the kind of its value, and what it means."""

    key: str
    kind: Value | Section | Items
    meaning: str
    required: bool = False
    default: Any = None  # what an absent field is; None: unset
    derived: str = ""  # a default that depends on other fields, in words; the parser gives it to `take`
    missing: str = "is required"  # the reason a missing required field is reported with
    goes_with: str = ""  # the key of the same mapping this one is given only with


class Section:
    """A mapping of fields; `one_of`: keys of which exactly one is given."""

    def __init__(self, *fields: Field, one_of: tuple[str, ...] = ()):
        self.fields = fields
        self.one_of = one_of

    def __getitem__(self, key: str) -> Field:
        for field in self.fields:
            if field.key == key:
                return field
        raise KeyError(key)


@dataclass(frozen=True)
class Items:
    """A list of mappings, each the `item` section."""

    item: Section
    min_items: int = 1


def _site(role: str, lan: Field, tunnel: str) -> Section:
    return Section(
        Field("name", Text(NAME, NAME_HINT), "The node's name.", required=True),
        Field("model", Esr(role), "The Eltex ESR model (labkit/data/esr_models.yml).", required=True),
        lan,
        Field("tunnel", ADDRESS, "The node's tunnel address.", derived=tunnel),
    )


def _proposal(integrity: Field, dh_group: Field) -> Section:
    return Section(
        Field("encryption", Choice(ENCRYPTIONS), "The encryption algorithm.", required=True),
        integrity,
        dh_group,
    )


HUB = _site("hub", Field("lan", INTERFACE, "The hub's LAN: its gateway address with the prefix (the HQ segment "
                         "with headquarters).", required=True,
                         missing="is required (the headquarters LAN, e.g. 10.0.0.1/24)"),
            tunnel=f"host N of overlay.tunnel_network for hub N (host 1 for both units of a cluster); required past "
                   f"{SPOKE_TUNNEL_OFFSET - 1} hubs")
SPOKE = _site("spoke", Field("lan", INTERFACE, "The spoke's LAN: its gateway address with the prefix, inside "
                             "spokes.lan_pool.", derived="block N of spokes.lan_pool (a /spokes.lan_prefixlen) for "
                             "spoke N"),
              tunnel=f"host {SPOKE_TUNNEL_OFFSET}+N of overlay.tunnel_network for spoke N")
DESIGN = Section(
    Field("lab", Text(LAB_NAME, "; use 1-24 lower-case letters, digits or '-', starting with a letter"),
          "Names the lab and everything made from the design: its build/, reports/ and configs/ folders.",
          required=True),
    Field("scenario", Text(NAME, NAME_HINT), "A label of older design files; it selects nothing, the checks follow "
          "the design's contents."),
    Field("description", Text(), "What the design is for, in one line (the topology picture's title).", default=""),
    Field("phase", Choice((1, 2, 3)), "The DMVPN phase: 1 hub and spoke only, 2 spoke-to-spoke tunnels to the "
          "spokes' own next hops, 3 hub redirects and spoke shortcuts.", required=True),
    Field("underlay", Section(
        Field("transport", Text(NAME, NAME_HINT), "The name of the transport ('internet') router joining every "
              "site's WAN link.", default="inet"),
        Field("wan_pool", NETWORK, f"Site N's WAN link is the Nth /{WAN_LINK_PREFIXLEN} of this pool, hubs first.",
              default=WAN_SPACE),
    ), "The transport network between the sites.", required=True),
    Field("overlay", Section(
        Field("tunnel_network", NETWORK, f"The mGRE tunnel's network: hubs are hosts 1-{SPOKE_TUNNEL_OFFSET - 1}, "
              f"spoke N host {SPOKE_TUNNEL_OFFSET}+N.", default=TUNNEL_SPACE),
        Field("gre_key", Integer(1, 2**32 - 1), "The tunnel's GRE key, the same on every node.", required=True),
        Field("nhrp_network_id", Integer(1, 2**32 - 1), "The NHRP network-id (local to each node, never sent).",
              required=True),
        Field("holdtime", Integer(10, 65535), "The NHRP holding time in seconds; a spoke registers again every "
              "third of it.", default=30),
        Field("mtu", Integer(576, 9000), "The tunnel interface's MTU in bytes.", default=1400),
        Field("tcp_mss", Integer(500, 8960), "The MSS the tunnel clamps TCP SYNs to, in bytes.", default=1360),
    ), "The mGRE tunnel and NHRP.", required=True),
    Field("ipsec", Section(
        Field("ike_proposal", _proposal(
            Field("integrity", Choice(INTEGRITIES), "The integrity (hash) algorithm.", default="sha256"),
            Field("dh_group", Choice(DH_GROUPS), "The Diffie-Hellman group.", default=19),
        ), "The IKE SA's algorithms.", required=True),
        Field("esp_proposal", _proposal(
            Field("integrity", Choice(INTEGRITIES), "The integrity (hash) algorithm.", default="sha256",
                  derived="none with an AEAD encryption (aes128gcm16, aes256gcm16), sha256 with another"),
            Field("dh_group", Choice(DH_GROUPS), "The Diffie-Hellman group of the IPsec SAs' PFS; unset: no PFS."),
        ), "The IPsec (ESP) SAs' algorithms.", required=True),
        Field("ike_version", Choice((1, 2)), "The IKE version.", default=2),
        Field("mode", Choice(("transport", "tunnel")), "The IPsec mode.", default="transport"),
        Field("psk", Text(min_len=8, hint="; the pre-shared key needs at least 8 characters"), "The pre-shared key "
              "of every node; never printed in reports, evidence or logs, never put in ESR configs.", required=True),
        Field("dpd_interval", Integer(1, 3600), "Seconds between dead peer detection requests to a quiet peer.",
              default=10),
        Field("dpd_timeout", Integer(2, 300), "Seconds from an unanswered DPD request to the peer given up; unset: "
              "the devices' default."),
        Field("ike_lifetime", LIFETIME_S, "The IKE SA's hard lifetime in seconds; unset: the devices' default."),
        Field("sa_lifetime", LIFETIME_S, "Each IPsec SA's hard lifetime in seconds, shorter than ike_lifetime; "
              "unset: the devices' default."),
    ), "IKE and IPsec, protecting every GRE packet.", required=True),
    Field("routing", Section(
        Field("protocol", Choice(("bgp",)), "The routing protocol over the tunnel.", default="bgp"),
        Field("asn", Integer(1, 4294967295), "The AS number of every node (iBGP, the hubs reflecting routes).",
              required=True),
        Field("keepalive", Integer(1, 3600), "The BGP keepalive interval in seconds.", default=3),
        Field("holdtime", Integer(3, 65535), "The BGP hold time in seconds, at least 3 x keepalive.", default=9),
        Field("hub_advertises", Choice(("summary", "default", "all")), "What the hubs advertise to the spokes: "
              "spokes.lan_pool as one summary, a default route, or every route as learned (phase 2 needs all).",
              derived="by phase: " + ", ".join(f"{phase}: {a}" for phase, a in DEFAULT_ADVERTISE.items())),
        Field("bfd", Section(
            Field("interval_ms", Integer(10, 60000), "The BFD transmit and receive interval in milliseconds.",
                  default=300),
            Field("multiplier", Integer(2, 255), "Missed BFD packets before a session is declared down.", default=3),
        ), "BFD beside every BGP session; absent: no BFD."),
    ), "BGP over the tunnel.", required=True),
    Field("hubs", Items(HUB), "The hub routers; hub N takes the Nth WAN link.", required=True),
    Field("spokes", Section(
        Field("count", Integer(1, 10000), "The number of spokes, named spoke1, spoke2... with models cycled from "
              "models; not with nodes."),
        Field("models", EsrList("spoke"), "The models the counted spokes cycle through.", default=("ESR-15",),
              goes_with="count"),
        Field("nodes", Items(SPOKE, min_items=0), "The spokes one by one; not with count."),
        Field("lan_pool", NETWORK, "The pool the spoke LANs are carved from (spoke N: block N, block 0 unused); "
              "the hubs' summary.", default=LAN_SPACE),
        Field("lan_prefixlen", Integer(8, 30), "The prefix length of each spoke LAN carved from lan_pool.",
              default=24),
        one_of=("count", "nodes"),
    ), "The branch routers: count of them derived, or nodes listed.", required=True),
    Field("headquarters", Section(
        Field("name", Text(NAME, NAME_HINT), "The core router's name.", default="hq"),
        Field("address", INTERFACE, "The core router's address on the segment it shares with the hubs' LANs.",
              required=True),
        Field("lan", INTERFACE, "The HQ server LAN behind the core router: its gateway address with the prefix.",
              required=True),
    ), "An HQ core router joining the hubs' LANs, the HQ LAN behind it; needed with more than one hub."),
    Field("failover", Section(
        Field("loss_budget_ms", Integer(0, 600000), "The traffic a hub failover may lose, in milliseconds.",
              default=1000),
        Field("probe_interval_ms", Integer(10, 1000), "The interval of the probes measuring it, in milliseconds.",
              default=20),
    ), "Hub failover measured against a loss budget (needs two hubs); absent: not measured."),
    Field("cluster", Section(
        Field("vrrp_id", Integer(1, 255), "The VRRP id of the shared WAN address; in the ESR configuration the HQ "
              "segment's and the sync bridge's VRRP take the next two ids (1 after 255).", default=20),
        Field("advert_ms", Integer(10, 40950, step=10, step_why="VRRPv3 counts in centiseconds"),
              "The VRRP advertisement interval in milliseconds.", default=200),
        Field("lan_vip", ADDRESS, "The units' shared address on the HQ segment (VRRP): the ESR cluster's BGP with "
              "the HQ core router leaves from it (the lab's units each peer from their own address).",
              derived="the last host of the hubs' HQ segment"),
        Field("sync_network", NETWORK, "The ESR cluster sync bridge's network, used nowhere else and never "
              "advertised: its VRRP address is host 1, unit N's address host 1+N (the lab has no sync link).",
              default=CLUSTER_SYNC_SPACE),
    ), "The two hubs are the units of one Active/Standby (ESR 1+1) cluster sharing one tunnel and one WAN address "
       "by VRRP."),
    Field("mpls", Section(
        Field("lan_prefixlen", Integer(8, 30), "The prefix length of each spoke's LAN in each VRF.", default=24),
        Field("vrfs", Items(Section(
            Field("name", Text(VRF_NAME, "; use 1-15 letters, digits, '_' or '-', starting with a letter"),
                  "The VRF's name (also its Linux VRF device's).", required=True),
            Field("id", Integer(1, 252), "The VRF's number: kernel table, ESR VRF, route target ASN:id and "
                  "distinguisher tunnel-address:id (kernel tables 253-255 are taken).", required=True),
            Field("hq_lan", INTERFACE, "The VRF's LAN at HQ, on the hub: its gateway address with the prefix.",
                  required=True),
            Field("lan_pool", NETWORK, "The pool the spokes' LANs in the VRF are carved from (spoke N: block N).",
                  required=True),
        )), "The VPN services.", required=True),
    ), "MPLS L3VPN over the tunnel: VRFs on the hub and every spoke, BGP VPN labels (one hub)."),
    Field("misconfigure", Catalogued(misconfigurations, "misconfiguration", "wrong_psk"), "Misconfigurations "
          "(labkit/data/misconfigurations.yml) proven kept out, each applied to the last spokes in turn.",
          default=()),
    Field("cases", Catalogued(edge_cases, "case", "mtu"), "Edge cases (labkit/data/cases.yml) proven after the "
          "design's story, one at a time.", default=()),
    Field("nat", Section(
        Field("spokes", SpokeNames(), "The spokes behind a PAT, by name.", required=True),
        Field("inside_pool", NETWORK, f"Spoke N's link to its PAT is the Nth /{WAN_LINK_PREFIXLEN} of this pool.",
              default=NAT_INSIDE_SPACE),
    ), "Spokes each behind its own PAT (NAT traversal); needs one hub."),
)


def section_at(path: str) -> Section:
    """The mapping at a field path as Fields names it (`spokes.nodes[2]`: a spoke's)."""
    section = DESIGN
    for key in filter(None, re.sub(r"\[\d+\]", "", path).split(".")):
        kind = section[key].kind
        section = kind.item if isinstance(kind, Items) else kind
    return section


def field_at(path: str) -> Field:
    """The field at a dotted path (`spokes.lan_pool`)."""
    parent, _, key = path.rpartition(".")
    return section_at(parent)[key]


_DECLARED = object()


def take(fields: Fields, key: str, default: Any = _DECLARED) -> Any:
    """`fields.take(key)` with the declared kind, default and reason for a missing key. `default` replaces the
    declared one only where that is derived from other fields, or is DEFAULT (the declared one, resolved by the
    parser once other fields are known)."""
    declared = section_at(fields.path)[key]
    if default is _DECLARED:
        default = REQUIRED if declared.required else declared.default
    elif not (declared.derived or default is DEFAULT):
        raise TypeError(f"{fields.sub(key)}: its default is declared in labkit/design/spec.py, not derived")
    return fields.take(key, declared.kind.convert, default, missing=declared.missing)


def take_each(fields: Fields, *keys: str) -> dict[str, Any]:
    """`take` of each key in turn, by key."""
    return {key: take(fields, key) for key in keys}
