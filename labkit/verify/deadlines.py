"""Every check's deadline, from one table derived from the design's timers (NHRP holdtime, IPsec DPD, BGP
keepalive and hold time, BFD detection, VRRP adverts) and the stand-ins' own (from the node plan: the IKE
retransmissions, the spokes' BGP connect retry; from the lab platform: the NHRP registration retries), so that a
design with slower timers gets the time it needs, and a broken lab is reported no later than the design says it
must have recovered.

An entry is max(formula, floor) + a share per spoke the hub serves (+ a share per probe an attempt sends). The
floor is the least a lab under emulation (TCG, 2 cores) needs where the formula gives less: the literal the
check had before this table, known to pass; where no timer bounds a wait (reading state that already holds,
a burst of traffic, a capture), the floor is all there is. `labkit suite DESIGN` prints the entries its checks use:
the ones whose value is asked for while the suite is built (`recording`); docs/reference/deadlines.md has them all.

SA lifetimes, when the design sets them (the plan's hard lifetimes), give the rekey entry; left unset they are
strongSwan's defaults (hours), longer than any check, and the entry is 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from labkit.design.model import Design
from labkit.plan import plan_design
from labkit.platforms import lab_timing

SPOKE_S = 2.0  # the hub brings up one more spoke: its IKE SA, registration and BGP session (TCG, 2 cores)
PROBE_S = 0.5  # one more probe in an attempt: a command or a ping of a few packets, several run at once
# the lab platform's own reaction times (labkit.platforms.Timing): its NHRP registration retries, the expiry of a
# failed keying try, the hub's redirect interval, one more round of commands
_LAB = lab_timing()
NHRP_RETRIES_S = _LAB.registration_retries_s
NHRP_NHS_DROPPED_AT_S = _LAB.registration_dropped_at_s
XFRM_ACQ_EXPIRES_S = _LAB.acquire_expires_s
HUB_REDIRECT_INTERVAL_S = _LAB.redirect_interval_s
COMMAND_MARGIN_S = _LAB.command_margin_s


@dataclass(frozen=True)
class Timers:
    """The design's timers, and the stand-ins' that bound how fast the lab reacts."""

    spokes: int
    nhrp_holdtime_s: int
    nhrp_refresh_s: int  # a registered spoke registers again this often (the plan's)
    dpd_s: int
    bgp_keepalive_s: int
    bgp_holdtime_s: int
    bfd_detect_s: float | None
    vrrp_advert_s: float | None
    ike_give_up_s: float  # a spoke's charon gives a silent peer up after its retransmissions (the plan's stand-in)
    bgp_connect_s: int  # a spoke retries its BGP connection this often (the plan's stand-in)
    ike_lifetime_s: int | None  # the IKE SA's hard lifetime (the plan's); None: strongSwan's default
    sa_lifetime_s: int | None  # each IPsec SA's hard lifetime (the plan's); None: strongSwan's default
    probes: int = 0  # what one attempt of the check sends (LAN pairs pinged)

    @property
    def registered_s(self) -> float:
        """A spoke whose registration replies are lost (its IKE SA still coming up) is registered within one
        cycle of nhrpd's retries."""
        return float(sum(NHRP_RETRIES_S))

    @property
    def dead_peer_s(self) -> float:
        """A peer gone silent is noticed by DPD and given up after IKE's retransmissions; its SAs are cleared."""
        return self.dpd_s + self.ike_give_up_s

    @property
    def peer_down_s(self) -> float:
        """A dead BGP neighbour is declared down: BFD's detection time, or else the BGP hold time."""
        return self.bfd_detect_s if self.bfd_detect_s is not None else self.bgp_holdtime_s

    @property
    def bgp_up_s(self) -> float:
        """BGP over a tunnel registered from scratch: registration, the spoke's connect retry, and at most a hold
        time for a session whose peer stayed silent to be dropped and tried again."""
        return self.registered_s + self.bgp_connect_s + self.bgp_holdtime_s

    @property
    def rejoin_s(self) -> float:
        """A spoke back with a hub that lost it (restarted, taken over, its SAs cleared): the dead SA noticed, the
        next registration (the refresh, or a retry at most the longest backoff step later), BGP reconnected and
        up within a hold time."""
        return (self.dead_peer_s + max(self.nhrp_refresh_s, NHRP_RETRIES_S[-1]) + self.bgp_connect_s
                + self.bgp_holdtime_s)

    @property
    def rekey_look_s(self) -> float:
        """How often the SAs are looked at while rekeys are awaited: a generation of CHILD SAs lives 0.7-0.8 of
        the SA lifetime (the stand-in's rekey timing), so a look every twelfth of it sees each generation 8 times or
        more (every half second with no lifetime set)."""
        return max(0.5, self.sa_lifetime_s / 12) if self.sa_lifetime_s else 0.5

    @property
    def shortcut_s(self) -> float:
        """A new spoke-to-spoke SA and resolution: one lost IKE exchange retransmitted through its schedule, the
        resolution triggered again by the next traffic (the checks send some every 3 s), then the same once more."""
        return 2 * (self.ike_give_up_s + 3)


def timers(design: Design, probes: int = 0) -> Timers:
    bfd, cluster = design.routing.bfd, design.cluster
    spoke = plan_design(design)[design.spokes[0].name]
    stand_in = spoke.stand_in
    return Timers(spokes=len(design.spokes), nhrp_holdtime_s=spoke.nhrp.holdtime, nhrp_refresh_s=spoke.nhrp.refresh_s,
                  dpd_s=design.ipsec.dpd_interval, bgp_keepalive_s=spoke.bgp.keepalive,
                  bgp_holdtime_s=spoke.bgp.holdtime,
                  bfd_detect_s=bfd.detect_ms / 1000 if bfd else None,
                  vrrp_advert_s=cluster.advert_ms / 1000 if cluster else None,
                  ike_give_up_s=stand_in.ike_retransmit.give_up_s, bgp_connect_s=stand_in.bgp_connect_retry_s,
                  ike_lifetime_s=spoke.ike_lifetime_s, sa_lifetime_s=spoke.sa_lifetime_s, probes=probes)


_ASKED: ContextVar[set[str] | None] = ContextVar("deadlines_asked", default=None)


@contextmanager
def recording() -> Iterator[set[str]]:
    """The names of the entries whose value is asked for inside the block (what a suite built in it uses)."""
    asked: set[str] = set()
    token = _ASKED.set(asked)
    try:
        yield asked
    finally:
        _ASKED.reset(token)


def _none(t: Timers) -> float:
    return 0.0


@dataclass(frozen=True)
class Deadline:
    """One named wait of the table: how long the checks that use it may take to see what they expect."""

    name: str
    formula: str  # as printed, in the timers' terms
    why: str  # what it waits for, and which checks use it
    derive: Callable[[Timers], float] = _none
    floor_s: float = 0.0
    per_spoke_s: float = 0.0
    per_probe_s: float = 0.0

    def __call__(self, design: Design, probes: int = 0) -> float:
        return self.of(timers(design, probes))

    def of(self, t: Timers) -> float:
        asked = _ASKED.get()
        if asked is not None:
            asked.add(self.name)
        return round(max(self.floor_s, self.derive(t)) + self.per_spoke_s * t.spokes + self.per_probe_s * t.probes, 1)

    def floored(self, t: Timers) -> bool:
        """The floor, not the formula, sets the value for these timers."""
        return self.derive(t) < self.floor_s


REGISTRATION = Deadline(
    "registration", "nhrp retry cycle (2+4+...+64 s) + 2 s/spoke",
    "every spoke registered with every NHS, its hub-spoke SAs up (nhrp.registrations, nhrp.nhs, "
    "ipsec.hub_spoke_sas)", lambda t: t.registered_s, per_spoke_s=SPOKE_S)
BGP = Deadline(
    "bgp", "registration + bgp connect (2 s) + bgp holdtime + 2 s/spoke",
    "every BGP session Established (routing.bgp_sessions): it rides the registered tunnel",
    lambda t: t.bgp_up_s, per_spoke_s=SPOKE_S)
BFD = Deadline(
    "bfd", "registration + bgp connect (2 s) + bfd detect time + 2 s/spoke",
    "a BFD session up beside every BGP session (routing.bfd_sessions): it starts with the BGP neighbour (on a "
    "hub, once the spoke's connection creates it) and is up within a detect time",
    lambda t: t.registered_s + t.bgp_connect_s + (t.bfd_detect_s or 0), per_spoke_s=SPOKE_S)
ROUTES = Deadline(
    "routes", "3 x bgp keepalive, floor 90 s; + 2 s/spoke",
    "the routes a session carries, once it is up (routing.spoke_routes, mpls.vrf_routes): the first updates",
    lambda t: 3 * t.bgp_keepalive_s, floor_s=90, per_spoke_s=SPOKE_S)
VPN = Deadline(
    "vpn", "bgp holdtime + 3 x bgp keepalive, floor 120 s",
    "VPNv4 Established with routes on the hub-spoke sessions, which are up (mpls.vpn_sessions)",
    lambda t: t.bgp_holdtime_s + 3 * t.bgp_keepalive_s, floor_s=120)
LOOK = Deadline(
    "look", "no timer: 40 s", "reading state that already holds: a shortcut cleared, a path traced, an SA listed "
    "(phase3.shortcut_absent, paths.via_hub, paths.direct, ipsec.spoke_spoke_sa)", floor_s=40)
TRAFFIC = Deadline(
    "traffic", "no timer: 60 s", "a burst of traffic and what it shows: ESP counters, a capture, a long ping, labels, "
    "the routes' choice of hub (ipsec.esp_counters, ipsec.transport_capture, paths.sustained, mpls.no_leaks, "
    "mpls.labels_on_the_wire, failover.preferred)", floor_s=60)
SHORTCUT = Deadline(
    "shortcut", "2 x (ike give-up + 3 s), floor 60 s",
    "traffic builds a spoke-to-spoke SA and resolution (phase3.shortcut_installed, phase2.tunnel_on_demand, a "
    "fault case's shortcut before the fault)", lambda t: t.shortcut_s, floor_s=60)
SAMPLED = Deadline(
    "sampled", "2 x (ike give-up + 3 s), floor 90 s",
    "the sampled spoke pairs build their shortcuts, at most 8 at once (phase3.sampled_shortcuts)",
    lambda t: t.shortcut_s, floor_s=90)
REACHABILITY = Deadline(
    "reachability", "4 x (ike give-up + 3 s), floor 120 s; + 0.5 s/pair",
    "every LAN pair answers pings, a pair on a new shortcut after it is built (paths.full_mesh, "
    "paths.hubs_and_sample)", lambda t: 2 * t.shortcut_s, floor_s=120, per_probe_s=PROBE_S)
VRF_PINGS = Deadline(
    "vrf_pings", "no timer: 90 s", "every site pair answers pings inside a VRF, through the hub "
    "(mpls.reachability.<vrf>)", floor_s=90)
ISOLATION = Deadline(
    "isolation", "no timer: 150 s", "every VRF crossing looked up and pinged, with its controls (mpls.isolation)",
    floor_s=150)
PURGE = Deadline(
    "purge", "2 x nhrp holdtime + 10 s",
    "an idle shortcut is gone (phase3.shortcut_purged): the lab's NHRP expires it at 2/3 of the holding time its "
    "resolution reply gave (the design's holdtime) and purges it 1/3 later unless used; used at that moment, it "
    "is resolved again and lives one more holdtime; plus one retry and a command", lambda t: 2 * t.nhrp_holdtime_s + 10)
VRRP = Deadline(
    "vrrp", "3 x vrrp advert, floor 60 s", "the active unit holds the shared address, the standby stands by "
    "(cluster.vrrp): the standby claims it after 3 missed adverts; the units start with the lab",
    lambda t: 3 * (t.vrrp_advert_s or 0), floor_s=60)
HUB_DOWN = Deadline(
    "hub_down", "peer down (bfd detect, else bgp holdtime) + 10 s, floor 20 s",
    "how long a hub failure's probes run (failover.wan_down, failover.hub_fail): the dead hub noticed, BGP "
    "withdraws and the kernel reroutes, then traffic seen flowing", lambda t: t.peer_down_s + 10, floor_s=20)
HUB_RETURN = Deadline(
    "hub_return", "rejoin, floor 180 s",
    "how long the probes run while a failed hub comes back from scratch and its spokes return (failover.hub_return)",
    lambda t: t.rejoin_s, floor_s=180)
SPOKE_RESTART = Deadline(
    "spoke_restart", "bgp (registration from scratch + connect + holdtime), floor 120 s",
    "how long the probes run while a spoke restarts from scratch and registers, peers and routes again "
    "(failover.spoke_restart)", lambda t: t.bgp_up_s, floor_s=120)
SAS_RESTART = Deadline(
    "sas_restart", "rejoin, floor 120 s",
    "how long the probes run while IPsec restarts on a hub and its spokes' SAs come back "
    "(failover.ipsec_restart)", lambda t: t.rejoin_s, floor_s=120)
TAKEOVER = Deadline(
    "takeover", "rejoin, floor 150 s",
    "how long the probes run while a cluster's standby takes over and the spokes re-register with it "
    "(cluster.active_fails)", lambda t: t.rejoin_s, floor_s=150)
SETTLE = Deadline(
    "settle", "max(dead peer (dpd + ike give-up), bgp holdtime), floor 10 s",
    "how long a case's probes go on after the lab recovered, where the case's window only bounds its recovery "
    "(failover.hub_return, failover.spoke_restart, failover.ipsec_restart, cluster.active_fails, edge.rekey): an SA "
    "left with a "
    "peer that went is given up by DPD, a session left with it ends after its hold time; traffic must keep flowing",
    lambda t: max(t.dead_peer_s, t.bgp_holdtime_s), floor_s=10)
RESTORE = Deadline(
    "restore", "rejoin, floor 120 s", "a fault case's lab back in its designed state after the undo",
    lambda t: t.rejoin_s, floor_s=120)
DURING = Deadline(
    "during", "no timer: 15 s", "a condition that must hold while a fault holds (an established shortcut still "
    "direct; seen once: one refreshed through the other hub took a few seconds)", floor_s=15)
KEPT_OUT = Deadline(
    "kept_out", "max(nhrp holdtime, refresh + nhrp retries up to 16 s, bgp holdtime, dead peer) + 10 s",
    "a spoke whose registrations, IKE or GRE are refused is gone from its hubs' state and they from its own "
    "(keptout.<fault>.out): its cache entry on a hub expires a holdtime after its last accepted registration; it "
    "drops its NHS registration once its next renewal and the retries after it went unanswered; BGP ends after "
    "its hold time, an SA the fault did not end after DPD and IKE's retransmissions",
    lambda t: max(t.nhrp_holdtime_s, t.nhrp_refresh_s + sum(w for w in NHRP_RETRIES_S if w <= NHRP_NHS_DROPPED_AT_S),
                  t.bgp_holdtime_s, t.dead_peer_s) + COMMAND_MARGIN_S)
JOINED = Deadline(
    "joined", "xfrm acquire expiry (30 s) + the two longest nhrp retries + ike give-up + bgp connect + keepalive "
    "+ 10 s", "a spoke put right registers, peers and is routed again (keptout.<fault>.joined): the trap starts IKE "
    "once the failed attempt's larval SA expired; the registration that started it is lost while IKE runs and "
    "the next two registration retries may be the longest apart; IKE ends within its retransmissions; BGP connects and "
    "exchanges routes within a keepalive",
    lambda t: (XFRM_ACQ_EXPIRES_S + sum(NHRP_RETRIES_S[-2:]) + t.ike_give_up_s + t.bgp_connect_s
               + t.bgp_keepalive_s + COMMAND_MARGIN_S))
PMTU = Deadline(
    "pmtu", "no timer: 90 s", "a path MTU case (pmtud.learned, pmtud.black_hole): two links narrowed, a few DF "
    "pings, the links restored, full-size packets shown crossing again", floor_s=90)
BLOCKED = Deadline(
    "blocked", "hub redirect interval (15 s) + dpd + ike give-up + 10 s, floor 45 s",
    "how long the probes run while two spokes cannot reach each other directly, the underlay between them blocked "
    "(edge.underlay_blocked) or both behind PATs (edge.pat_to_pat): the hub redirects (at most 4 a minute per "
    "pair), the resolution and the IKE exchange it starts fail, DPD gives up an old spoke-to-spoke SA; the traffic "
    "must stay on the hub path throughout",
    lambda t: HUB_REDIRECT_INTERVAL_S + t.dead_peer_s + COMMAND_MARGIN_S, floor_s=45)
REKEY = Deadline(
    "rekey", "2 x sa lifetime + 10 s (0 with no sa lifetime)",
    "how long the probes run while the hub-spoke and spoke-spoke SAs are rekeyed twice (edge.rekey: new SPIs): "
    "the lab rekeys each SA before its hard lifetime, so two rekeys are done within two lifetimes of the first "
    "SA; plus one round of commands",
    lambda t: 2 * t.sa_lifetime_s + COMMAND_MARGIN_S if t.sa_lifetime_s else 0.0)
RENUMBER = Deadline(
    "renumber", "dead peer (dpd + ike give-up) + 10 s, floor 45 s",
    "how long the probes run after a spoke's WAN address changed (edge.wan_address_change): the spoke registers "
    "from its new address at once (its first registration starts IKE, the next is answered), and an SA left "
    "with its former address is given up by DPD; traffic must flow and no stale SA remain by the end",
    lambda t: t.dead_peer_s + COMMAND_MARGIN_S, floor_s=45)
LONG_OUTAGE = Deadline(
    "long_outage", "dead peer + ike give-up + xfrm acquire expiry (30 s) + the longest nhrp retry (64 s) + 10 s",
    "how long a hub stays unreachable in failover.long_outage: longer than every retry the spokes make by themselves "
    "(DPD gives their SA up, a keying try the trap starts is given up too, its larval SA expires, the NHRP "
    "registration retries reach their longest step), so that only what the spokes do after that brings them back",
    lambda t: t.dead_peer_s + t.ike_give_up_s + XFRM_ACQ_EXPIRES_S + NHRP_RETRIES_S[-1] + COMMAND_MARGIN_S)
OUTAGE_RETURN = Deadline(
    "outage_return", "xfrm acquire expiry (30 s) + rejoin, floor 120 s",
    "every spoke back with a hub that was unreachable for long (failover.long_outage): a larval SA of the last "
    "failed keying try expires, then the spoke rejoins as after any loss (rejoin)",
    lambda t: XFRM_ACQ_EXPIRES_S + t.rejoin_s, floor_s=120)
INJECT = Deadline("inject", "no timer: 60 s", "what one fault injection may take (the runtime's own work)",
                  floor_s=60)

TABLE: tuple[Deadline, ...] = (REGISTRATION, BGP, BFD, ROUTES, VPN, LOOK, TRAFFIC, SHORTCUT, SAMPLED, REACHABILITY,
                               VRF_PINGS, ISOLATION, PURGE, VRRP, HUB_DOWN, HUB_RETURN, SPOKE_RESTART, SAS_RESTART,
                               TAKEOVER, SETTLE, RESTORE, DURING, KEPT_OUT, JOINED, LONG_OUTAGE, OUTAGE_RETURN, INJECT,
                               PMTU, BLOCKED, REKEY, RENUMBER)


def table_text(design: Design, used: set[str] | None = None) -> str:
    """The table for `design`: each entry's seconds, formula and what it waits for (only the entries named in
    `used`, if given)."""
    t = timers(design)
    entries = [d for d in TABLE if used is None or d.name in used]
    width = max(len(d.name) for d in entries)
    bfd = "none" if t.bfd_detect_s is None else f"{t.bfd_detect_s:g} s"
    head = (f"timers: nhrp holdtime {t.nhrp_holdtime_s} s (refresh {t.nhrp_refresh_s:g} s), dpd {t.dpd_s} s, ike "
            f"give-up {t.ike_give_up_s:g} s, bgp {t.bgp_keepalive_s}/{t.bgp_holdtime_s} s (connect "
            f"{t.bgp_connect_s} s), bfd {bfd}, {t.spokes} spokes; rejoin {t.rejoin_s:.1f} s"
            + "".join(f", {what} lifetime {s} s" for what, s in (("ike", t.ike_lifetime_s), ("sa", t.sa_lifetime_s))
                      if s))

    def row(d: Deadline) -> str:
        derived = f" (the formula gives {d.derive(t):.1f} s: the floor holds)" if d.floored(t) and d.derive(t) else ""
        return f"{d.name:<{width}}  {d.of(t):>6.1f} s  {d.formula}{derived}\n{'':<{width + 12}}{d.why}"

    return "\n".join([head, *map(row, entries)]) + "\n"
