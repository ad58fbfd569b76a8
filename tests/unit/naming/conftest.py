"""A zone signed in the test, and an authoritative responder for it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from dns.rdtypes.ANY.DNSKEY import DNSKEY

from flatmob_mn.naming.validate import covers

ORIGIN = dns.name.from_text("mn.flatmob.test.")
NOW = 1_800_000_000

ZONE_TEXT = """\
@ 60 SOA ns1.isp.flatmob.test. hostmaster.isp.flatmob.test. 1 3600 600 86400 5
@ 60 NS ns1.isp.flatmob.test.
mn1 30 A 10.64.3.7
mn1 30 A 10.64.4.9
mn1 30 AAAA 2001:db8::5
mn1 30 TXT "v=1 order=10.64.4.9 2001:db8::5 10.64.3.7"
_7410._udp.mn1 60 TLSA 3 1 0 3059301306072a8648ce3d020106082a8648ce3d0301
_nonce.mn2 20 TXT "v=1 epoch=4 nonce=AAECAw=="
mn2 30 A 10.64.3.8
"""


@dataclass
class SignedZone:
    """A zone signed with one ECDSA P-256 CSK, and that key."""

    zone: dns.zone.Zone
    origin: dns.name.Name
    dnskey: DNSKEY
    private_key: ec.EllipticCurvePrivateKey


def make_zone(
    seed: int = 7, inception: int = NOW - 3600, expiration: int = NOW + 86400
) -> SignedZone:
    """Return the test zone signed by the key derived from ``seed``."""
    zone = dns.zone.from_text(ZONE_TEXT, ORIGIN, relativize=False)
    key = ec.derive_private_key(seed, ec.SECP256R1())
    dnskey = dns.dnssec.make_dnskey(
        key.public_key(), dns.dnssec.Algorithm.ECDSAP256SHA256, flags=257
    )
    dns.dnssec.sign_zone(
        zone,
        keys=[(key, dnskey)],
        dnskey_ttl=60,
        inception=inception,
        expiration=expiration,
    )
    return SignedZone(zone, ORIGIN, dnskey, key)


def _rrset_and_sig(
    zone: dns.zone.Zone, name: dns.name.Name, rdtype: int
) -> list[dns.rrset.RRset]:
    found = []
    rdataset = zone.get_rdataset(name, rdtype)
    if rdataset is not None:
        found.append(
            dns.rrset.from_rdata_list(name, rdataset.ttl, list(rdataset))
        )
    sigs = zone.get_rdataset(name, dns.rdatatype.RRSIG, rdtype)
    if sigs is not None:
        found.append(dns.rrset.from_rdata_list(name, sigs.ttl, list(sigs)))
    return found


def _nsec_covering(
    zone: dns.zone.Zone, origin: dns.name.Name, name: dns.name.Name
) -> list[dns.rrset.RRset]:
    for owner, node in zone.items():
        nsec = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NSEC)
        if nsec is not None and covers(owner, nsec[0], name, origin):
            return _rrset_and_sig(zone, owner, dns.rdatatype.NSEC)
    return []


def respond(
    signed: SignedZone, query: dns.message.Message
) -> dns.message.Message:
    """Answer ``query`` as an authoritative server of the zone would."""
    zone, origin = signed.zone, signed.origin
    question = query.question[0]
    qname, rdtype = question.name, question.rdtype
    response = dns.message.make_response(query)
    response.flags |= dns.flags.AA
    node = zone.get_node(qname)
    if node is not None and zone.get_rdataset(qname, rdtype) is not None:
        response.answer += _rrset_and_sig(zone, qname, rdtype)
        return response
    response.authority += _rrset_and_sig(zone, origin, dns.rdatatype.SOA)
    if node is not None:
        response.authority += _rrset_and_sig(zone, qname, dns.rdatatype.NSEC)
        return response
    response.set_rcode(dns.rcode.NXDOMAIN)
    response.authority += _nsec_covering(zone, origin, qname)
    wildcard = dns.name.from_text("*", origin)
    for rrset in _nsec_covering(zone, origin, wildcard):
        if rrset not in response.authority:
            response.authority.append(rrset)
    return response


def query(name: str, rdtype: str) -> dns.message.Message:
    """Return a DNSSEC query for ``name`` and ``rdtype``."""
    return dns.message.make_query(name, rdtype, want_dnssec=True)


@dataclass
class Responder:
    """A UDP server on loopback answering from a signed zone."""

    server: tuple[str, int]
    queries: list[tuple[str, str]]
    signed: SignedZone
    silent: bool = False


@pytest.fixture
def signed_zone() -> SignedZone:
    """Return the test zone, signed now (``NOW``)."""
    return make_zone()


@pytest.fixture
def responder(signed_zone: SignedZone) -> Iterator[Responder]:
    """Serve ``signed_zone`` on a loopback UDP port from a thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.05)
    state = Responder(sock.getsockname(), [], signed_zone)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                wire, peer = sock.recvfrom(65535)
            except TimeoutError:
                continue
            message = dns.message.from_wire(wire)
            rrset = message.question[0]
            state.queries.append(
                (rrset.name.to_text(), dns.rdatatype.to_text(rrset.rdtype))
            )
            if not state.silent:
                sock.sendto(respond(state.signed, message).to_wire(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        thread.join()
        sock.close()


@pytest.fixture
def frozen() -> Callable[[], float]:
    """Return a settable clock (call ``.set(t)``) starting at ``NOW``."""

    class Clock:
        def __init__(self) -> None:
            self.now = float(NOW)

        def __call__(self) -> float:
            return self.now

    return Clock()
