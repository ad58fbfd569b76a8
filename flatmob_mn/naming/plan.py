"""The naming plan: zones, records, TSIG keys and update rules.

A ``NamingPlan`` is built, with no side effect but drawing TSIG secrets
from the random source it is given, from the list of entities (MNs, ARs,
home agents, the name server) and the name server's address.  The server
module renders it into Knot's configuration and zone files.

Update rules (RFC 2136 updates, each signed with the node's own TSIG
key, the key's name being the node's DNS name):

- an MN may change A, AAAA and the order TXT at its own name only;
- an AR may change PTR records inside its own pool's reverse zone, and
  the TXT nonce record ``_nonce.<ar>``;
- nobody else may change anything (TLSA records are fixed).
"""

from __future__ import annotations

import base64
import ipaddress
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import dns.name

from flatmob_mn.naming import records
from flatmob_mn.naming.errors import NamingPlanError, RecordFormatError

#: TSIG algorithm of every node key.
TSIG_ALGORITHM = "hmac-sha256"

#: Bytes of random secret in a TSIG key (the HMAC-SHA-256 block size).
TSIG_SECRET_BYTES = 32

#: DNSSEC algorithms the server can sign with (Knot's spelling).
DNSSEC_ALGORITHMS = ("ecdsap256sha256", "ed25519")


@dataclass(frozen=True)
class Entity:
    """One named thing: an MN, AR, home agent or the name server."""

    name: str
    kind: str
    spki: bytes
    pool: ipaddress.IPv4Network | None = None


@dataclass(frozen=True)
class TsigKey:
    """A node's TSIG key; its name is the node's DNS name."""

    name: str
    secret: bytes
    algorithm: str = TSIG_ALGORITHM

    @property
    def secret_b64(self) -> str:
        """Return the secret in base64, as configuration files hold it."""
        return base64.b64encode(self.secret).decode("ascii")


@dataclass(frozen=True)
class UpdateRule:
    """Who may update what in one zone (one Knot ACL rule)."""

    id: str
    key: str
    types: tuple[str, ...]
    owner: str
    match: str
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Record:
    """One resource record of a zone file, in presentation form."""

    owner: str
    ttl: int
    rdtype: str
    rdata: str


@dataclass(frozen=True)
class ZonePlan:
    """One zone: its origin, initial records and update rules."""

    origin: str
    records: tuple[Record, ...]
    rules: tuple[UpdateRule, ...] = ()

    def contains(self, name: str) -> bool:
        """Tell whether ``name`` is at or below this zone's origin."""
        return dns.name.from_text(name).is_subdomain(
            dns.name.from_text(self.origin)
        )


@dataclass(frozen=True)
class NamingPlan:
    """Everything the name server serves and whom it lets update it."""

    isp_zone: str
    mn_zone: str
    ns_name: str
    ns_address: str
    port: int
    zones: tuple[ZonePlan, ...]
    keys: tuple[TsigKey, ...]
    entities: tuple[Entity, ...] = field(default=())
    algorithm: str = "ecdsap256sha256"
    ttl: int = 60
    negative_ttl: int = 5

    def zone(self, origin: str) -> ZonePlan:
        """Return the zone named ``origin``.

        :raises NamingPlanError: if the plan has no such zone.
        """
        origin = records.absolute(origin)
        for zone in self.zones:
            if zone.origin == origin:
                return zone
        raise NamingPlanError(f"no zone {origin} in the plan")

    def zone_of(self, name: str) -> ZonePlan:
        """Return the deepest zone holding ``name``.

        :raises NamingPlanError: if no zone of the plan holds it.
        """
        holders = [z for z in self.zones if z.contains(name)]
        if not holders:
            raise NamingPlanError(f"no zone of the plan holds {name}")
        return max(holders, key=lambda z: len(z.origin))

    def key(self, name: str) -> TsigKey:
        """Return the TSIG key of node ``name``.

        :raises NamingPlanError: if the plan has no key by that name.
        """
        name = records.absolute(name)
        for key in self.keys:
            if key.name == name:
                return key
        raise NamingPlanError(f"no TSIG key for {name}")


def build_plan(
    entities: Iterable[Entity],
    ns_address: str,
    *,
    isp_zone: str = records.ISP_ZONE,
    mn_zone: str = records.MN_ZONE,
    port: int = 53,
    algorithm: str = "ecdsap256sha256",
    ttl: int = 60,
    negative_ttl: int = 5,
    random: Callable[[int], bytes] = os.urandom,
) -> NamingPlan:
    """Return the naming plan for ``entities`` served at ``ns_address``.

    :param random: source of the TSIG secrets (``os.urandom``).
    :raises NamingPlanError: on duplicate names, names outside their
        zone, missing or overlapping pools, or an unknown algorithm.
    """
    if algorithm not in DNSSEC_ALGORITHMS:
        raise NamingPlanError(f"unsupported DNSSEC algorithm {algorithm}")
    isp_zone, mn_zone = records.absolute(isp_zone), records.absolute(mn_zone)
    entities = tuple(_checked(e, isp_zone, mn_zone) for e in entities)
    _check_unique(entities)
    ns_list = [e for e in entities if e.kind == records.KIND_NS]
    if len(ns_list) != 1:
        raise NamingPlanError("the plan needs exactly one name server")
    ns = ns_list[0]
    address = str(ipaddress.ip_address(ns_address))

    soa = _soa(ns.name, isp_zone, negative_ttl)
    base = (soa, Record("@", ttl, "NS", ns.name))
    zones = [
        _isp_zone(isp_zone, base, entities, ns, address, ttl),
        _mn_zone(mn_zone, base, entities, ttl),
        *_reverse_zones(base, entities),
    ]
    keys = tuple(
        TsigKey(e.name, random(TSIG_SECRET_BYTES))
        for e in entities
        if e.kind != records.KIND_NS
    )
    return NamingPlan(
        isp_zone=isp_zone,
        mn_zone=mn_zone,
        ns_name=ns.name,
        ns_address=address,
        port=port,
        zones=tuple(zones),
        keys=keys,
        entities=entities,
        algorithm=algorithm,
        ttl=ttl,
        negative_ttl=negative_ttl,
    )


def _checked(entity: Entity, isp_zone: str, mn_zone: str) -> Entity:
    if entity.kind not in records.KINDS:
        raise NamingPlanError(f"{entity.name}: unknown kind {entity.kind}")
    name = records.absolute(entity.name)
    zone = mn_zone if entity.kind == records.KIND_MN else isp_zone
    parent = dns.name.from_text(name).parent()
    if parent != dns.name.from_text(zone):
        raise NamingPlanError(f"{name}: a {entity.kind} lives in {zone}")
    if (entity.kind == records.KIND_AR) != (entity.pool is not None):
        raise NamingPlanError(f"{name}: ARs, and only ARs, have a pool")
    if not entity.spki:
        raise NamingPlanError(f"{name}: no public key")
    return Entity(name, entity.kind, entity.spki, entity.pool)


def _check_unique(entities: tuple[Entity, ...]) -> None:
    names = [e.name for e in entities]
    if len(set(names)) != len(names):
        raise NamingPlanError("duplicate entity names")
    pools = [e.pool for e in entities if e.pool is not None]
    for i, pool in enumerate(pools):
        for other in pools[i + 1 :]:
            if pool.overlaps(other):
                raise NamingPlanError(f"pools {pool} and {other} overlap")


def _soa(ns_name: str, isp_zone: str, negative_ttl: int) -> Record:
    # RFC 2308: the SOA minimum is the TTL of negative answers; keep it
    # short so that a name added by an update is not hidden for long.
    rname = f"hostmaster.{isp_zone}"
    text = f"{ns_name} {rname} 1 3600 600 86400 {negative_ttl}"
    return Record("@", negative_ttl, "SOA", text)


def _key_records(entity: Entity, ttl: int) -> Record:
    tlsa = records.tlsa_rdata(entity.spki)
    return Record(records.tlsa_owner(entity.name), ttl, "TLSA", tlsa.to_text())


def _isp_zone(
    origin: str,
    base: tuple[Record, ...],
    entities: tuple[Entity, ...],
    ns: Entity,
    address: str,
    ttl: int,
) -> ZonePlan:
    rdtype = "A" if ipaddress.ip_address(address).version == 4 else "AAAA"
    own = [e for e in entities if e.kind != records.KIND_MN]
    recs = [*base, Record(ns.name, ttl, rdtype, address)]
    recs += [_key_records(e, ttl) for e in own]
    rules = tuple(
        UpdateRule(
            id=f"nonce-{_label(e)}",
            key=e.name,
            types=("TXT",),
            owner="name",
            match="equal",
            names=(records.nonce_owner(e.name),),
        )
        for e in own
        if e.kind == records.KIND_AR
    )
    return ZonePlan(origin, tuple(recs), rules)


def _mn_zone(
    origin: str,
    base: tuple[Record, ...],
    entities: tuple[Entity, ...],
    ttl: int,
) -> ZonePlan:
    mns = [e for e in entities if e.kind == records.KIND_MN]
    recs = [*base, *(_key_records(e, ttl) for e in mns)]
    rules = tuple(
        UpdateRule(
            id=f"addr-{_label(e)}",
            key=e.name,
            types=("A", "AAAA", "TXT"),
            owner="key",
            match="equal",
        )
        for e in mns
    )
    return ZonePlan(origin, tuple(recs), rules)


def _reverse_zones(
    base: tuple[Record, ...], entities: tuple[Entity, ...]
) -> list[ZonePlan]:
    # IPv4 only: pools are IPv4Network; ip6.arpa zones come with v6 pools.
    zones = []
    for ar in entities:
        if ar.pool is None:
            continue
        try:
            origin = records.reverse_zone(ar.pool)
        except RecordFormatError as e:
            raise NamingPlanError(f"{ar.name}: {e}") from e
        rule = UpdateRule(
            id=f"ptr-{_label(ar)}",
            key=ar.name,
            types=("PTR",),
            owner="zone",
            match="sub",
        )
        zones.append(ZonePlan(origin, base, (rule,)))
    return zones


def _label(entity: Entity) -> str:
    return entity.name.split(".", 1)[0]
