"""Names and records the toolkit keeps in DNS, and their encodings.

Zones (the names are parameters of the plan; these are the defaults):

==================================  ======================================
``isp.flatmob.test.``               ISP zone: ``ar<N>``, ``ha<N>``,
                                    ``ns1``
``mn.flatmob.test.``                home zone of the MNs: ``mn<N>``
``<c>.<b>.<a>.in-addr.arpa.``       one reverse zone per AR pool (pools
                                    are byte-aligned: /8, /16 or /24)
==================================  ======================================

Records:

==============================  =======  ================================
owner                           type     content
==============================  =======  ================================
``_7410._udp.<entity>``         TLSA     ``3 1 0 <SubjectPublicKeyInfo>``
``_nonce.<ar>``                 TXT      ``v=1 epoch=<int> nonce=<b64>``
``<mn>``                        A, AAAA  the MN's addresses
``<mn>``                        TXT      ``v=1 order=<addr> <addr> ...``
``<reversed address>``          PTR      the name holding the address
==============================  =======  ================================

RRsets are unordered on the wire (RFC 2181 section 5), so the order of an
MN's addresses, most recently allocated first, is kept in the companion
TXT record at the MN's own name; readers sort the validated A and AAAA
records by it and put any address it does not list last.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.reversename
from dns.rdtypes.ANY.TLSA import TLSA
from dns.rdtypes.ANY.TXT import TXT

from flatmob_mn.naming.errors import RecordFormatError

#: UDP port of the toolkit's authentication protocol (TLSA owner label).
AUTH_PORT = 7410

#: Default ISP zone: ARs, home agents and the name server.
ISP_ZONE = "isp.flatmob.test."

#: Default home zone of the mobile nodes.
MN_ZONE = "mn.flatmob.test."

#: Entity kinds and the zone each kind lives in.
KIND_MN = "mn"
KIND_AR = "ar"
KIND_HA = "ha"
KIND_NS = "ns"
KINDS = (KIND_MN, KIND_AR, KIND_HA, KIND_NS)

#: TLSA parameters: DANE-EE (3), SubjectPublicKeyInfo (1), full data (0).
TLSA_USAGE = 3
TLSA_SELECTOR = 1
TLSA_MTYPE = 0

#: First label of an AR's nonce record.
NONCE_LABEL = "_nonce"

#: Version tag of the toolkit's TXT formats.
TXT_VERSION = "v=1"

_NONCE_RE = re.compile(r"v=1 epoch=(\d+) nonce=([A-Za-z0-9+/=]+)")
_ORDER_PREFIX = "v=1 order="


def absolute(name: str) -> str:
    """Return ``name`` in lower case with its trailing dot."""
    return dns.name.from_text(name).to_text().lower()


def entity_name(
    kind: str, index: int, isp_zone: str = ISP_ZONE, mn_zone: str = MN_ZONE
) -> str:
    """Return the DNS name of entity ``index`` of ``kind`` (``ar3...``).

    :raises RecordFormatError: for an unknown kind or a negative index.
    """
    if kind not in KINDS or index < 0:
        raise RecordFormatError(f"no name for {kind!r} number {index}")
    zone = mn_zone if kind == KIND_MN else isp_zone
    return absolute(f"{kind}{index}.{zone}")


def tlsa_owner(entity: str) -> str:
    """Return the owner of ``entity``'s TLSA record."""
    return absolute(f"_{AUTH_PORT}._udp.{entity}")


def tlsa_rdata(spki_der: bytes) -> TLSA:
    """Return the TLSA 3 1 0 record carrying ``spki_der``.

    :raises RecordFormatError: if ``spki_der`` is empty.
    """
    if not spki_der:
        raise RecordFormatError("empty SubjectPublicKeyInfo")
    return TLSA(
        dns.rdataclass.IN,
        dns.rdatatype.TLSA,
        TLSA_USAGE,
        TLSA_SELECTOR,
        TLSA_MTYPE,
        spki_der,
    )


def spki_from_tlsa(rdata: dns.rdata.Rdata, owner: str) -> bytes:
    """Return the key of a TLSA 3 1 0 record.

    :raises RecordFormatError: if the record has other parameters.
    """
    assert isinstance(rdata, TLSA)
    params = (rdata.usage, rdata.selector, rdata.mtype)
    if params != (TLSA_USAGE, TLSA_SELECTOR, TLSA_MTYPE):
        raise RecordFormatError(
            f"{owner}: TLSA {params} is not 3 1 0 (raw public key)"
        )
    return bytes(rdata.cert)


def nonce_owner(ar_name: str) -> str:
    """Return the owner of the nonce record of ``ar_name``."""
    return absolute(f"{NONCE_LABEL}.{ar_name}")


def format_nonce(epoch: int, nonce: bytes) -> str:
    """Return the TXT content announcing ``nonce`` for ``epoch``.

    :raises RecordFormatError: for a negative epoch or an empty nonce.
    """
    if epoch < 0 or not nonce:
        raise RecordFormatError(f"bad nonce for epoch {epoch}")
    b64 = base64.b64encode(nonce).decode("ascii")
    return f"{TXT_VERSION} epoch={epoch} nonce={b64}"


def parse_nonce(text: str) -> tuple[int, bytes]:
    """Return (epoch, nonce) from a nonce TXT content.

    :raises RecordFormatError: if ``text`` is not ``v=1 epoch= nonce=``.
    """
    match = _NONCE_RE.fullmatch(text)
    if match is None:
        raise RecordFormatError(f"not a nonce record: {text!r}")
    try:
        nonce = base64.b64decode(match.group(2), validate=True)
    except binascii.Error as e:
        raise RecordFormatError(f"bad base64 in {text!r}") from e
    if not nonce:
        raise RecordFormatError(f"empty nonce in {text!r}")
    return int(match.group(1)), nonce


def format_order(addresses: list[str]) -> str:
    """Return the TXT content listing ``addresses``, most recent first.

    :raises RecordFormatError: if an address is not an IP address.
    """
    canon = [_canonical_address(a) for a in addresses]
    return _ORDER_PREFIX + " ".join(canon)


def parse_order(text: str) -> list[str] | None:
    """Return the addresses of an order TXT, or None for another TXT."""
    if not text.startswith(_ORDER_PREFIX):
        return None
    found = []
    for word in text[len(_ORDER_PREFIX) :].split():
        try:
            found.append(_canonical_address(word))
        except RecordFormatError:
            continue
    return found


def order_addresses(addresses: list[str], order: list[str]) -> list[str]:
    """Sort ``addresses`` by ``order``; unlisted ones last, sorted."""
    rank = {a: i for i, a in enumerate(order)}
    listed = sorted((a for a in addresses if a in rank), key=lambda a: rank[a])
    rest = sorted(
        (a for a in addresses if a not in rank),
        key=lambda a: (
            ipaddress.ip_address(a).version,
            ipaddress.ip_address(a),
        ),
    )
    return listed + rest


def reverse_name(address: str) -> str:
    """Return the PTR owner of ``address`` (``7.3.64.10.in-addr.arpa.``).

    :raises RecordFormatError: if ``address`` is not an IP address.
    """
    canon = _canonical_address(address)
    return dns.reversename.from_address(canon).to_text()


def reverse_zone(pool: ipaddress.IPv4Network) -> str:
    """Return the reverse zone of a byte-aligned pool.

    :raises RecordFormatError: if the prefix is not /8, /16 or /24.
    """
    if pool.prefixlen not in (8, 16, 24):
        raise RecordFormatError(
            f"pool {pool} is not byte-aligned (/8, /16 or /24)"
        )
    octets = str(pool.network_address).split(".")[: pool.prefixlen // 8]
    return ".".join(reversed(octets)) + ".in-addr.arpa."


def address_from_reverse(name: str) -> str:
    """Return the address a PTR owner name stands for.

    :raises RecordFormatError: if ``name`` is not a reverse name.
    """
    try:
        return dns.reversename.to_address(dns.name.from_text(name))
    except (dns.exception.SyntaxError, ValueError) as e:
        raise RecordFormatError(f"not a reverse name: {name}") from e


def _canonical_address(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError as e:
        raise RecordFormatError(f"not an IP address: {address!r}") from e


def txt_rdata(text: str) -> dns.rdata.Rdata:
    """Return a TXT record holding ``text`` (split in 255-byte strings)."""
    data = text.encode("ascii")
    chunks = [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]
    return TXT(dns.rdataclass.IN, dns.rdatatype.TXT, chunks)


def txt_text(rdata: dns.rdata.Rdata) -> str:
    """Return the content of a TXT record, its strings joined."""
    assert isinstance(rdata, TXT)
    return b"".join(rdata.strings).decode("ascii", "replace")
