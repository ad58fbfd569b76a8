"""DNSSEC validation of single responses against trust-anchored keys.

Pure functions on dnspython messages; no network.  Every failure raises
``BogusAnswer`` (or ``NoRecord`` for a proven absence) naming the
queried name and the reason.

Scope: every zone the toolkit serves has its own trust anchor, so no
chain of DS records is followed.  Negative answers are proven with NSEC
(RFC 4035 section 5.4): NODATA by an NSEC at the name whose type bitmap
lacks the type (or one that covers an empty non-terminal), NXDOMAIN by
an NSEC covering the name and one covering the wildcard at the closest
encloser.  Answers synthesised from a wildcard are rejected: the
toolkit's zones hold none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dns.dnssec
import dns.message
import dns.name
import dns.rcode
import dns.rdataset
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.NSEC import NSEC

from flatmob_mn.naming.errors import BogusAnswer, NoRecord, ServerFailure


@dataclass(frozen=True)
class Validated:
    """A validated RRset and the wall-clock time its proof lapses."""

    rrset: dns.rrset.RRset
    ttl: int
    expiration: int


def validate_rrset(
    rrset: dns.rrset.RRset,
    rrsigs: dns.rrset.RRset | None,
    zone: dns.name.Name,
    keys: dns.rdataset.Rdataset,
    now: float,
) -> Validated:
    """Check ``rrset`` against its RRSIGs made by one of ``keys``.

    :raises BogusAnswer: if no RRSIG by ``zone``'s keys is valid now.
    """
    what = f"{rrset.name} {_type_text(rrset.rdtype)}"
    if rrsigs is None or len(rrsigs) == 0:
        raise BogusAnswer(f"{what}: no RRSIG")
    labels = len(rrset.name) - (1 if rrset.name.is_wild() else 0) - 1
    good = [s for s in rrsigs if s.labels == labels and s.signer == zone]
    if not good:
        raise BogusAnswer(f"{what}: no RRSIG by {zone} for this owner")
    current = [s for s in good if s.inception <= now <= s.expiration]
    if not current:
        latest = max(s.expiration for s in good)
        raise BogusAnswer(
            f"{what}: RRSIG expired or not yet valid (expiration "
            f"{latest}, now {int(now)})"
        )
    sigs = dns.rrset.from_rdata_list(rrsigs.name, rrsigs.ttl, good)
    try:
        dns.dnssec.validate(rrset, sigs, {zone: keys}, now=now)
    except dns.dnssec.ValidationFailure as e:
        raise BogusAnswer(f"{what}: {e}") from e
    first = min(good, key=lambda s: s.expiration)
    ttl = min([rrset.ttl] + [s.original_ttl for s in good])
    return Validated(rrset, ttl, first.expiration)


def validate_dnskeys(
    response: dns.message.Message,
    zone: dns.name.Name,
    anchors: Iterable[DNSKEY],
    now: float,
) -> Validated:
    """Return the zone's DNSKEY set once an anchor key has signed it.

    :raises BogusAnswer: if the set holds no anchor or is not signed by
        one, or the response has no DNSKEY set.
    """
    rrset = answer_rrset(response, zone, dns.rdatatype.DNSKEY)
    if rrset is None:
        raise BogusAnswer(f"{zone} DNSKEY: missing from the answer")
    anchored = [key for key in rrset if key in set(anchors)]
    if not anchored:
        raise BogusAnswer(f"{zone} DNSKEY: no key matches the anchor")
    sigs = answer_rrset(
        response,
        zone,
        dns.rdatatype.RRSIG,
        dns.rdatatype.DNSKEY,
    )
    trusted = dns.rdataset.from_rdata_list(rrset.ttl, anchored)
    return validate_rrset(rrset, sigs, zone, trusted, now)


def answer_rrset(
    response: dns.message.Message,
    name: dns.name.Name,
    rdtype: int,
    covers: int = dns.rdatatype.NONE,
) -> dns.rrset.RRset | None:
    """Return the answer section's RRset at ``name`` of ``rdtype``."""
    for rrset in response.answer:
        if (
            rrset.name == name
            and rrset.rdtype == rdtype
            and rrset.covers == covers
        ):
            return rrset
    return None


def validate_answer(
    response: dns.message.Message,
    qname: dns.name.Name,
    rdtype: int,
    zone: dns.name.Name,
    keys: dns.rdataset.Rdataset,
    now: float,
) -> Validated:
    """Return the validated answer, or prove there is none.

    :raises NoRecord: if the response proves the RRset does not exist;
        ``ttl`` attribute of the error is its negative TTL.
    :raises BogusAnswer: for anything unproven, unsigned or wrongly
        signed.
    """
    rcode = response.rcode()
    if rcode == dns.rcode.NOERROR:
        rrset = answer_rrset(response, qname, rdtype)
        if rrset is not None:
            sigs = answer_rrset(
                response,
                qname,
                dns.rdatatype.RRSIG,
                rdtype,
            )
            return validate_rrset(rrset, sigs, zone, keys, now)
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        name = dns.rcode.to_text(rcode)
        raise ServerFailure(f"{qname}: server answered {name}")
    raise _proven_absence(response, qname, rdtype, zone, keys, now)


def _proven_absence(
    response: dns.message.Message,
    qname: dns.name.Name,
    rdtype: int,
    zone: dns.name.Name,
    keys: dns.rdataset.Rdataset,
    now: float,
) -> NoRecord:
    what = f"{qname} {_type_text(rdtype)}"
    soa = _authority(response, zone, dns.rdatatype.SOA)
    if soa is None:
        raise BogusAnswer(f"{what}: negative answer without SOA of {zone}")
    proofs = [validate_rrset(*soa, zone, keys, now)]
    nsecs = []
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.NSEC:
            sigs = _sigs_for(response, rrset)
            proofs.append(validate_rrset(rrset, sigs, zone, keys, now))
            nsecs.append((rrset.name, rrset[0]))
    if response.rcode() == dns.rcode.NXDOMAIN:
        _prove_nxdomain(what, qname, zone, nsecs)
        reason = "no such name (NSEC proof)"
    else:
        _prove_nodata(what, qname, rdtype, zone, nsecs)
        reason = "no such record type (NSEC proof)"
    ttl = min([soa[0][0].minimum] + [p.ttl for p in proofs])
    return NoRecord(f"{what}: {reason}", ttl)


def _authority(
    response: dns.message.Message, name: dns.name.Name, rdtype: int
) -> tuple[dns.rrset.RRset, dns.rrset.RRset | None] | None:
    for rrset in response.authority:
        if rrset.name == name and rrset.rdtype == rdtype:
            return rrset, _sigs_for(response, rrset)
    return None


def _sigs_for(
    response: dns.message.Message, rrset: dns.rrset.RRset
) -> dns.rrset.RRset | None:
    for sigs in response.authority:
        if (
            sigs.name == rrset.name
            and sigs.rdtype == dns.rdatatype.RRSIG
            and sigs.covers == rrset.rdtype
        ):
            return sigs
    return None


def nsec_types(nsec: NSEC) -> set[int]:
    """Return the record types an NSEC's bitmap lists (RFC 4034 4.1.2)."""
    found = set()
    for window, bitmap in nsec.windows:
        for i, byte in enumerate(bitmap):
            for bit in range(8):
                if byte & (0x80 >> bit):
                    found.add(window * 256 + i * 8 + bit)
    return found


def covers(
    owner: dns.name.Name,
    nsec: NSEC,
    name: dns.name.Name,
    zone: dns.name.Name,
) -> bool:
    """Tell whether the NSEC at ``owner`` proves ``name`` absent."""
    nxt = nsec.next
    if nxt == zone:
        # The last NSEC of the zone wraps round to the apex.
        return owner < name
    return owner < name < nxt


def _prove_nodata(
    what: str,
    qname: dns.name.Name,
    rdtype: int,
    zone: dns.name.Name,
    nsecs: list[tuple[dns.name.Name, NSEC]],
) -> None:
    for owner, nsec in nsecs:
        if owner == qname:
            types = nsec_types(nsec)
            if rdtype in types or dns.rdatatype.CNAME in types:
                raise BogusAnswer(f"{what}: NSEC lists the type")
            return
        # An empty non-terminal: the next name lies below it.
        if covers(owner, nsec, qname, zone) and nsec.next.is_subdomain(qname):
            return
    raise BogusAnswer(f"{what}: NODATA without NSEC proof")


def _prove_nxdomain(
    what: str,
    qname: dns.name.Name,
    zone: dns.name.Name,
    nsecs: list[tuple[dns.name.Name, NSEC]],
) -> None:
    covering = [(o, n) for o, n in nsecs if covers(o, n, qname, zone)]
    if not covering:
        raise BogusAnswer(f"{what}: NXDOMAIN without NSEC covering it")
    owner, nsec = covering[0]
    encloser = max(
        qname.fullcompare(owner)[2], qname.fullcompare(nsec.next)[2]
    )
    closest = dns.name.Name(qname.labels[-encloser:])
    wildcard = dns.name.Name((b"*",) + closest.labels)
    if not any(covers(o, n, wildcard, zone) for o, n in nsecs):
        raise BogusAnswer(f"{what}: wildcard {wildcard} not disproven")


def _type_text(rdtype: int) -> str:
    return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rdtype))
