"""A design file's sections read field by field (labkit.design.spec declares each field once): values as given,
every problem recorded with its line, nothing derived yet."""

from __future__ import annotations

import itertools
from typing import Any

from labkit.design import spec
from labkit.design.catalog import esr_models
from labkit.design.fields import DEFAULT, Fields, Problems
from labkit.design.model import Bfd, Failover, Headquarters, Ipsec, Mpls, Proposal, Vrf


def _proposal(fields: Fields, esp: bool) -> Proposal | None:
    encryption = spec.take(fields, "encryption")
    if esp and encryption and encryption.endswith("gcm16"):  # an AEAD cipher: no integrity algorithm unless given
        integrity = spec.take(fields, "integrity", default=None)
    else:
        integrity = spec.take(fields, "integrity")
    dh_group = spec.take(fields, "dh_group")
    fields.finish()
    if encryption is None:
        return None
    return Proposal(encryption=encryption, integrity=integrity, dh_group=dh_group)


def ipsec(fields: Fields) -> Ipsec | None:
    ike = _proposal(fields.fields("ike_proposal"), esp=False)
    esp = _proposal(fields.fields("esp_proposal"), esp=True)
    ipsec = Ipsec(
        ike_version=spec.take(fields, "ike_version"),
        ike_proposal=ike,
        esp_proposal=esp,
        **spec.take_each(fields, "mode", "psk", "dpd_interval", "dpd_timeout", "ike_lifetime", "sa_lifetime"),
    )
    _lifetimes_ordered(fields, ipsec)
    fields.finish()
    return ipsec


def _lifetimes_ordered(fields: Fields, ipsec: Ipsec) -> None:
    """An IPsec SA lifetime, when both are given, is shorter than the IKE SA's; records the problem if not."""
    ike_s, sa_s = ipsec.ike_lifetime, ipsec.sa_lifetime
    if ike_s and sa_s and sa_s >= ike_s:
        fields.problems.add(fields.key_line("sa_lifetime"), fields.sub("sa_lifetime"),
                            f"must be shorter than ipsec.ike_lifetime ({ike_s}), found {sa_s}: the IPsec SAs are "
                            f"rekeyed through the IKE SA, which should outlive them; set sa_lifetime below {ike_s} "
                            f"or ike_lifetime above {sa_s}")


def nat_settings(fields: Fields) -> tuple[list[str] | None, Any]:
    """The `nat` section: its spoke names (checked against the spokes once they are known) and inside pool (or
    DEFAULT)."""
    settings = spec.take(fields, "spokes"), spec.take(fields, "inside_pool", default=DEFAULT)
    fields.finish()
    return settings


def headquarters(fields: Fields) -> Headquarters:
    hq = Headquarters(**spec.take_each(fields, "name", "address", "lan"))
    fields.finish()
    return hq


def cluster_settings(fields: Fields) -> tuple[dict[str, Any], int | None]:
    """The cluster section's fields (`lan_vip` None when derived), and its line."""
    settings = spec.take_each(fields, "vrrp_id", "advert_ms", "sync_network")
    settings["lan_vip"] = spec.take(fields, "lan_vip", default=None)
    fields.finish()
    return settings, fields.line


def mpls(fields: Fields) -> Mpls:
    mpls = Mpls(
        lan_prefixlen=spec.take(fields, "lan_prefixlen"),
        vrfs=tuple(v for v in (_vrf(Fields(fields.problems, item, path, line))
                               for path, line, item in fields.items("vrfs")) if v),
    )
    if not mpls.vrfs and not fields.problems.lines:
        fields.problems.add(fields.key_line("vrfs") or fields.line, fields.sub("vrfs"),
                            "needs at least one VRF, e.g. {name: CORP, id: 10, hq_lan: 10.10.0.1/24, "
                            "lan_pool: 172.20.0.0/16}")
    fields.finish()
    return mpls


def _vrf(fields: Fields) -> Vrf | None:
    if not fields.ok:
        return None
    vrf = Vrf(**spec.take_each(fields, "name", "id", "hq_lan", "lan_pool"))
    fields.finish()
    return vrf if None not in (vrf.name, vrf.id, vrf.hq_lan, vrf.lan_pool) else None


def failover(fields: Fields) -> Failover:
    failover = Failover(**spec.take_each(fields, "loss_budget_ms", "probe_interval_ms"))
    fields.finish()
    return failover


def _bfd(fields: Fields) -> Bfd:
    bfd = Bfd(**spec.take_each(fields, "interval_ms", "multiplier"))
    fields.finish()
    return bfd


def routing_settings(fields: Fields, phase: int | None) -> dict[str, Any]:
    """The routing section; the spoke summary is spokes.lan_pool, known once the spokes are."""
    routing = spec.take_each(fields, "protocol", "asn", "keepalive", "holdtime")
    routing |= dict(
        hub_advertises=spec.take(fields, "hub_advertises", default=spec.DEFAULT_ADVERTISE.get(phase, "all")),
        bfd=_bfd(fields.fields("bfd", required=False)) if fields.has("bfd") else None,
    )
    if phase == 2 and routing["hub_advertises"] != "all":
        fields.problems.add(fields.key_line("hub_advertises"), fields.sub("hub_advertises"),
                            "phase 2 needs every spoke LAN with the spoke's own next hop; use 'all'")
    if routing["keepalive"] and routing["holdtime"] and routing["holdtime"] < 3 * routing["keepalive"]:
        fields.problems.add(fields.key_line("holdtime"), fields.sub("holdtime"),
                            f"must be at least 3 x keepalive ({3 * routing['keepalive']})")
    fields.finish()
    return routing


def _site_fields(problems: Problems, path: str, line: int | None, item: Any) -> dict | None:
    fields = Fields(problems, item, path, line)
    if not fields.ok:
        return None
    entry = spec.take_each(fields, "name", "model", "lan", "tunnel") | {"path": path, "line": line}
    fields.finish()
    return entry


def hubs(top: Fields, problems: Problems) -> list[dict]:
    items = top.items("hubs")
    if top.mapping.get("hubs") == []:
        problems.add(top.key_line("hubs"), "hubs", "needs at least one hub")
    hubs = [_site_fields(problems, path, line, item) for path, line, item in items]
    return [h for h in hubs if h]


def spoke_entries(fields: Fields) -> tuple[list[dict], int | None]:
    """Explicit `nodes`, or `count` spokes derived deterministically (names, models cycled); and the prefix
    length of their LANs. Reads every field whatever the others hold, so that none is reported unknown."""
    problems = fields.problems
    prefixlen = spec.take(fields, "lan_prefixlen")
    if fields.has("nodes") == fields.has("count"):
        if fields.ok:
            problems.add(fields.line, fields.path, "give exactly one of 'count' (derived spokes) or 'nodes' (a list)")
        fields.taken.update({"nodes", "count", "models"})
        return [], prefixlen
    if fields.has("nodes"):
        fields.taken.add("models")  # reported below as not going with 'nodes'
        if fields.has("models"):
            problems.add(fields.key_line("models"), fields.sub("models"),
                         "goes with 'count'; with 'nodes' give each node its model")
        spokes = [_site_fields(problems, path, line, item) for path, line, item in fields.items("nodes")]
        return [s for s in spokes if s], prefixlen
    count, models = spec.take(fields, "count"), spec.take(fields, "models")
    if not count or not models:
        return [], prefixlen
    catalog = esr_models()
    for name in models:
        if name not in catalog or "spoke" not in catalog[name].roles:
            fit = [n for n, m in catalog.items() if "spoke" in m.roles]
            problems.add(fields.key_line("models"), fields.sub("models"),
                         f"{name!r} is not a spoke model; use some of: {', '.join(fit)}")
            return [], prefixlen
    return [
        {"name": f"spoke{n}", "model": catalog[model], "lan": None, "tunnel": None,
         "path": f"{fields.path}.count", "line": fields.key_line("count")}
        for n, model in zip(range(1, count + 1), itertools.cycle(models), strict=False)
    ], prefixlen
