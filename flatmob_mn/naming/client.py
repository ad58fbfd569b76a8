"""Validating lookups and TSIG-signed updates against the name server.

``Resolver`` asks the server directly (no recursion), validates every
answer against the trust anchor of its zone and caches validated
answers and proven absences for their TTL, never past the earliest RRSIG
expiration.  ``Updater`` sends RFC 2136 updates signed with a node's
TSIG key.  Both give up after ``retries`` further tries of ``timeout``
seconds each, with ``ServerUnreachable``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring
import dns.update

from flatmob_mn.naming import records
from flatmob_mn.naming.anchors import TrustAnchors, read_anchors
from flatmob_mn.naming.errors import (
    BogusAnswer,
    NamingError,
    NoRecord,
    ServerUnreachable,
    UpdateBadKey,
    UpdateNotAuth,
    UpdateRefused,
)
from flatmob_mn.naming.validate import (
    Validated,
    validate_answer,
    validate_dnskeys,
)

Server = tuple[str, int]

#: EDNS payload size: fits unfragmented in any IPv4/IPv6 path (1232).
EDNS_PAYLOAD = 1232


def exchange(
    message: dns.message.Message,
    server: Server,
    timeout: float,
    retries: int,
) -> dns.message.Message:
    """Send ``message`` over UDP (TCP if truncated) and return the reply.

    :raises ServerUnreachable: after ``retries + 1`` tries without reply.
    """
    host, port = server
    last: Exception | None = None
    for _ in range(retries + 1):
        try:
            reply = dns.query.udp(
                message,
                host,
                timeout=timeout,
                port=port,
                ignore_unexpected=True,
            )
            if reply.flags & dns.flags.TC:
                reply = dns.query.tcp(
                    message, host, timeout=timeout, port=port
                )
            return reply
        except (dns.exception.Timeout, ConnectionError, OSError) as e:
            last = e
    tries = retries + 1
    raise ServerUnreachable(
        f"{host}@{port}: no answer to {_describe(message)} after "
        f"{tries} tries of {timeout} s ({last})"
    ) from last


def _describe(message: dns.message.Message) -> str:
    section = message.question or message.sections[0]
    if not section:
        return "empty message"
    rrset = section[0]
    return f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)}"


class Resolver:
    """Validating, caching lookups of the toolkit's records."""

    def __init__(
        self,
        server: Server,
        anchors: TrustAnchors | Path | str,
        timeout: float = 1.0,
        retries: int = 2,
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], float] = time.time,
    ) -> None:
        """Make a resolver asking ``server`` and trusting ``anchors``.

        :param anchors: zone to anchor DNSKEYs, or an anchors file.
        :param clock: monotonic seconds, for cache lifetimes.
        :param wallclock: POSIX seconds, for RRSIG validity.
        """
        if isinstance(anchors, str | Path):
            anchors = read_anchors(Path(anchors))
        self.server = server
        self.timeout = timeout
        self.retries = retries
        self.clock = clock
        self.wallclock = wallclock
        self._anchors = {
            dns.name.from_text(zone): tuple(keys)
            for zone, keys in anchors.items()
        }
        self._cache: dict[tuple[str, int], tuple[float, object]] = {}
        self._keys: dict[dns.name.Name, tuple[float, Validated]] = {}

    def flush(self) -> None:
        """Forget every cached answer and zone key."""
        self._cache.clear()
        self._keys.clear()

    def forget(self, name: str) -> None:
        """Forget every cached answer about ``name`` (any type)."""
        owner = dns.name.from_text(name)
        for key in list(self._cache):
            if dns.name.from_text(key[0]) == owner:
                del self._cache[key]

    def lookup(self, name: str, rdtype: int | str) -> dns.rrset.RRset:
        """Return the validated RRset of ``name`` and ``rdtype``.

        :raises NoRecord: if the server proves there is none.
        :raises BogusAnswer: if validation fails or proof is missing.
        :raises ServerUnreachable: if the server does not answer.
        """
        rdtype = dns.rdatatype.RdataType.make(rdtype)
        key = (name, rdtype)
        hit = self._cache.get(key)
        if hit is not None and hit[0] > self.clock():
            if isinstance(hit[1], NoRecord):
                raise NoRecord(str(hit[1]), hit[1].ttl)
            return hit[1]  # type: ignore[return-value]
        try:
            found = self._resolve(dns.name.from_text(name), rdtype)
        except NoRecord as e:
            self._cache[key] = (self.clock() + e.ttl, e)
            raise
        self._cache[key] = (self._expiry(found), found.rrset)
        return found.rrset

    def public_key(self, name: str) -> bytes:
        """Return the SubjectPublicKeyInfo DER of entity ``name``."""
        owner = records.tlsa_owner(name)
        rrset = self.lookup(owner, dns.rdatatype.TLSA)
        if len(rrset) != 1:
            raise BogusAnswer(f"{owner}: {len(rrset)} TLSA records")
        return records.spki_from_tlsa(rrset[0], owner)

    def nonce(self, ar_name: str) -> tuple[int, bytes]:
        """Return the newest (epoch, nonce) published by ``ar_name``."""
        owner = records.nonce_owner(ar_name)
        rrset = self.lookup(owner, dns.rdatatype.TXT)
        found = []
        for rdata in rrset:
            try:
                found.append(records.parse_nonce(records.txt_text(rdata)))
            except NamingError:
                continue
        if not found:
            raise NoRecord(f"{owner} TXT: no nonce record")
        return max(found)

    def addresses(self, name: str) -> list[str]:
        """Return the addresses of ``name``, most recent first."""
        found = []
        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            try:
                found += [r.address for r in self.lookup(name, rdtype)]
            except NoRecord:
                continue
        if not found:
            raise NoRecord(f"{name}: no A or AAAA record")
        return records.order_addresses(found, self._order(name))

    def ptr(self, address: str) -> str:
        """Return the name the PTR record of ``address`` points to."""
        owner = records.reverse_name(address)
        rrset = self.lookup(owner, dns.rdatatype.PTR)
        return rrset[0].target.to_text()

    def _order(self, name: str) -> list[str]:
        try:
            rrset = self.lookup(name, dns.rdatatype.TXT)
        except NoRecord:
            return []
        for rdata in rrset:
            order = records.parse_order(records.txt_text(rdata))
            if order is not None:
                return order
        return []

    def _expiry(self, found: Validated) -> float:
        left = min(found.ttl, found.expiration - self.wallclock())
        return self.clock() + max(0.0, left)

    def _zone(self, name: dns.name.Name) -> dns.name.Name:
        zones = [z for z in self._anchors if name.is_subdomain(z)]
        if not zones:
            raise BogusAnswer(f"{name}: no trust anchor covers it")
        return max(zones, key=len)

    def _zone_keys(self, zone: dns.name.Name) -> dns.rdataset.Rdataset:
        hit = self._keys.get(zone)
        if hit is not None and hit[0] > self.clock():
            return hit[1].rrset.to_rdataset()
        response = self._ask(zone, dns.rdatatype.DNSKEY)
        found = validate_dnskeys(
            response, zone, self._anchors[zone], self.wallclock()
        )
        self._keys[zone] = (self._expiry(found), found)
        return found.rrset.to_rdataset()

    def _resolve(
        self, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> Validated:
        zone = self._zone(qname)
        keys = self._zone_keys(zone)
        response = self._ask(qname, rdtype)
        return validate_answer(
            response, qname, rdtype, zone, keys, self.wallclock()
        )

    def _ask(
        self, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> dns.message.Message:
        query = dns.message.make_query(
            qname, rdtype, want_dnssec=True, payload=EDNS_PAYLOAD
        )
        query.flags &= ~dns.flags.RD
        return exchange(query, self.server, self.timeout, self.retries)


class Updater:
    """Send a node's TSIG-signed updates (RFC 2136) to the server."""

    def __init__(
        self,
        server: Server,
        key_name: str,
        secret: bytes,
        timeout: float = 1.0,
        retries: int = 2,
        ttl: int = 5,
    ) -> None:
        """Make an updater signing with key ``key_name``.

        :param ttl: TTL of the address and PTR records it writes.
        """
        self.server = server
        self.key_name = dns.name.from_text(key_name)
        self.keyring = {
            self.key_name: dns.tsig.Key(
                self.key_name, secret, dns.tsig.HMAC_SHA256
            )
        }
        self.timeout = timeout
        self.retries = retries
        self.ttl = ttl
        self._zones: dict[dns.name.Name, dns.name.Name] = {}
        self._nonces: dict[dns.name.Name, list[str]] = {}

    def zone_of(self, name: str | dns.name.Name) -> dns.name.Name:
        """Return the zone holding ``name``, from the server's SOA.

        :raises UpdateNotAuth: if the server serves no zone holding it.
        """
        if isinstance(name, str):
            name = dns.name.from_text(name)
        zone = self._zones.get(name)
        if zone is not None:
            return zone
        query = dns.message.make_query(name, dns.rdatatype.SOA)
        reply = exchange(query, self.server, self.timeout, self.retries)
        for rrset in reply.answer + reply.authority:
            if rrset.rdtype == dns.rdatatype.SOA and name.is_subdomain(
                rrset.name
            ):
                self._zones[name] = rrset.name
                return rrset.name
        rcode = dns.rcode.to_text(reply.rcode())
        raise UpdateNotAuth(f"{name}: no zone on the server ({rcode})")

    def set_addresses(self, name: str, addresses: list[str]) -> None:
        """Replace the A/AAAA records of ``name``; most recent first."""
        owner = dns.name.from_text(name)
        update = self._update(owner)
        for rdtype in ("A", "AAAA", "TXT"):
            update.delete(owner, rdtype)
        for address in addresses:
            rdtype = "AAAA" if ":" in address else "A"
            update.add(owner, self.ttl, rdtype, address)
        if addresses:
            order = records.txt_rdata(records.format_order(addresses))
            update.add(owner, self.ttl, order)
        self._send(update)

    def add_address(self, name: str, address: str) -> None:
        """Add ``address`` to ``name`` as its most recent address."""
        current = self.current_addresses(name)
        rest = [a for a in current if a != address]
        self.set_addresses(name, [address, *rest])

    def current_addresses(self, name: str) -> list[str]:
        """Return ``name``'s addresses as the server holds them now.

        The updater reads its own records without validation: the
        order it reads only decides the order it writes back.
        """
        owner = dns.name.from_text(name)
        found: list[str] = []
        order: list[str] = []
        for rdtype in ("A", "AAAA", "TXT"):
            query = dns.message.make_query(owner, rdtype)
            reply = exchange(query, self.server, self.timeout, self.retries)
            for rrset in reply.answer:
                if rrset.name != owner:
                    continue
                for rdata in rrset:
                    if rrset.rdtype == dns.rdatatype.TXT:
                        text = records.txt_text(rdata)
                        order = records.parse_order(text) or order
                    else:
                        found.append(rdata.address)
        return records.order_addresses(found, order)

    def set_ptr(self, address: str, name: str) -> None:
        """Make the PTR record of ``address`` point to ``name``."""
        owner = dns.name.from_text(records.reverse_name(address))
        update = self._update(owner)
        update.replace(owner, self.ttl, "PTR", records.absolute(name))
        self._send(update)

    def delete_ptr(self, address: str) -> None:
        """Delete the PTR record of ``address``."""
        owner = dns.name.from_text(records.reverse_name(address))
        update = self._update(owner)
        update.delete(owner, "PTR")
        self._send(update)

    def publish_nonce(
        self, ar_name: str, epoch: int, nonce: bytes, ttl: int
    ) -> None:
        """Publish ``nonce`` for ``epoch`` at ``_nonce.<ar_name>``.

        The record of the previous epoch this updater published stays
        beside the new one, so that readers holding it can finish;
        older ones are deleted.  With no memory of earlier epochs (the
        first call), every TXT record at the owner is replaced.

        :param ttl: seconds; must not outlive the epoch.
        """
        if ttl <= 0:
            raise ValueError("a nonce record needs a positive TTL")
        owner = dns.name.from_text(records.nonce_owner(ar_name))
        text = records.format_nonce(epoch, nonce)
        update = self._update(owner)
        published = self._nonces.get(owner)
        if published is None:
            update.delete(owner, "TXT")
            published = []
        for old in published[:-1]:
            update.delete(owner, records.txt_rdata(old))
        update.add(owner, ttl, records.txt_rdata(text))
        self._send(update)
        self._nonces[owner] = [*published[-1:], text]

    def _update(self, owner: dns.name.Name) -> dns.update.UpdateMessage:
        return dns.update.UpdateMessage(
            self.zone_of(owner),
            keyring=self.keyring,
            keyname=self.key_name,
            keyalgorithm=dns.tsig.HMAC_SHA256,
        )

    def _send(self, update: dns.update.UpdateMessage) -> None:
        what = f"update of {_names(update)} with key {self.key_name}"
        try:
            reply = exchange(update, self.server, self.timeout, self.retries)
        except (
            dns.tsig.PeerError,
            dns.tsig.BadSignature,
            dns.tsig.BadTime,
            dns.message.UnknownTSIGKey,
        ) as e:
            raise UpdateBadKey(
                f"{what} refused: {type(e).__name__} ({e}); the key is "
                "unknown or not allowed to make this change"
            ) from e
        rcode = reply.rcode()
        if rcode == dns.rcode.NOERROR:
            return
        text = dns.rcode.to_text(rcode)
        if rcode == dns.rcode.NOTAUTH:
            raise UpdateNotAuth(f"{what} refused: NOTAUTH")
        if rcode == dns.rcode.REFUSED:
            raise UpdateRefused(f"{what} refused: REFUSED")
        raise UpdateRefused(f"{what} failed: {text}")


def _names(update: dns.update.UpdateMessage) -> str:
    names = sorted({rrset.name.to_text() for rrset in update.update})
    return ", ".join(names) or str(update.zone[0].name)
