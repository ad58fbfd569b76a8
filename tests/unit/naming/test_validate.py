"""Validation of responses from a zone signed in the test."""

from __future__ import annotations

import dns.name
import dns.rdata
import dns.rdataset
import dns.rdatatype
import dns.rrset
import pytest

from flatmob_mn.naming.errors import BogusAnswer, NoRecord
from flatmob_mn.naming.validate import (
    nsec_types,
    validate_answer,
    validate_dnskeys,
)

from .conftest import NOW, ORIGIN, SignedZone, make_zone, query, respond


def _keys(signed: SignedZone) -> dns.rdataset.Rdataset:
    return dns.rdataset.from_rdata_list(60, [signed.dnskey])


def _validate(signed: SignedZone, response, name: str, rdtype: str):
    return validate_answer(
        response,
        dns.name.from_text(name),
        dns.rdatatype.from_text(rdtype),
        ORIGIN,
        _keys(signed),
        NOW,
    )


def test_answer_validates(signed_zone: SignedZone) -> None:
    response = respond(signed_zone, query("mn1.mn.flatmob.test.", "A"))
    found = _validate(signed_zone, response, "mn1.mn.flatmob.test.", "A")
    assert sorted(r.address for r in found.rrset) == [
        "10.64.3.7",
        "10.64.4.9",
    ]
    assert found.ttl == 30
    assert found.expiration == NOW + 86400


def test_tampered_answer_is_rejected(signed_zone: SignedZone) -> None:
    response = respond(signed_zone, query("mn1.mn.flatmob.test.", "A"))
    rrset = response.answer[0]
    forged = dns.rdata.from_text("IN", "A", "192.0.2.66")
    response.answer[0] = dns.rrset.from_rdata_list(
        rrset.name, rrset.ttl, [forged, *list(rrset)[1:]]
    )
    with pytest.raises(BogusAnswer, match=r"mn1\.mn\.flatmob\.test\. A"):
        _validate(signed_zone, response, "mn1.mn.flatmob.test.", "A")


def test_unsigned_answer_is_rejected(signed_zone: SignedZone) -> None:
    response = respond(signed_zone, query("mn1.mn.flatmob.test.", "A"))
    del response.answer[1]
    with pytest.raises(BogusAnswer, match="mn1.mn.flatmob.test. A: no RRSIG"):
        _validate(signed_zone, response, "mn1.mn.flatmob.test.", "A")


def test_expired_signature_is_rejected() -> None:
    signed = make_zone(inception=NOW - 7200, expiration=NOW - 60)
    response = respond(signed, query("mn1.mn.flatmob.test.", "A"))
    with pytest.raises(
        BogusAnswer, match="mn1.mn.flatmob.test. A: RRSIG expired"
    ):
        _validate(signed, response, "mn1.mn.flatmob.test.", "A")


def test_signature_by_another_key_is_rejected() -> None:
    other = make_zone(seed=8)
    response = respond(other, query("mn1.mn.flatmob.test.", "A"))
    with pytest.raises(BogusAnswer, match="mn1.mn.flatmob.test. A"):
        _validate(make_zone(), response, "mn1.mn.flatmob.test.", "A")


def test_dnskey_set_validates_against_anchor(signed_zone) -> None:
    response = respond(signed_zone, query("mn.flatmob.test.", "DNSKEY"))
    found = validate_dnskeys(response, ORIGIN, [signed_zone.dnskey], NOW)
    assert list(found.rrset) == [signed_zone.dnskey]


def test_wrong_anchor_is_rejected(signed_zone: SignedZone) -> None:
    response = respond(signed_zone, query("mn.flatmob.test.", "DNSKEY"))
    wrong = make_zone(seed=9).dnskey
    with pytest.raises(BogusAnswer, match="mn.flatmob.test. DNSKEY: no key"):
        validate_dnskeys(response, ORIGIN, [wrong], NOW)


def test_nodata_is_proven(signed_zone: SignedZone) -> None:
    response = respond(signed_zone, query("mn2.mn.flatmob.test.", "AAAA"))
    with pytest.raises(NoRecord, match="no such record type") as info:
        _validate(signed_zone, response, "mn2.mn.flatmob.test.", "AAAA")
    assert info.value.ttl == 5


def test_nxdomain_is_proven(signed_zone: SignedZone) -> None:
    response = respond(signed_zone, query("mn9.mn.flatmob.test.", "A"))
    with pytest.raises(NoRecord, match="mn9.mn.flatmob.test. A: no such"):
        _validate(signed_zone, response, "mn9.mn.flatmob.test.", "A")


def test_nxdomain_without_nsec_is_bogus(signed_zone: SignedZone) -> None:
    response = respond(signed_zone, query("mn9.mn.flatmob.test.", "A"))
    response.authority = [
        r
        for r in response.authority
        if dns.rdatatype.NSEC not in (r.rdtype, r.covers)
    ]
    with pytest.raises(BogusAnswer, match="mn9.mn.flatmob.test. A: NXDOM"):
        _validate(signed_zone, response, "mn9.mn.flatmob.test.", "A")


def test_stripped_answer_is_bogus(signed_zone: SignedZone) -> None:
    # A NODATA for MX at mn1 cannot stand for A: the NSEC lists A.
    response = respond(signed_zone, query("mn1.mn.flatmob.test.", "MX"))
    with pytest.raises(BogusAnswer, match="NSEC lists the type"):
        _validate(signed_zone, response, "mn1.mn.flatmob.test.", "A")


def test_forged_negative_soa_is_bogus(signed_zone: SignedZone) -> None:
    response = respond(signed_zone, query("mn9.mn.flatmob.test.", "A"))
    soa = response.authority[0]
    forged = dns.rdata.from_text("IN", "SOA", "x. y. 9 3600 600 86400 3600")
    response.authority[0] = dns.rrset.from_rdata_list(
        soa.name, soa.ttl, [forged]
    )
    with pytest.raises(BogusAnswer, match="mn.flatmob.test. SOA"):
        _validate(signed_zone, response, "mn9.mn.flatmob.test.", "A")


def test_nsec_types_reads_bitmap(signed_zone: SignedZone) -> None:
    nsec = signed_zone.zone.get_rdataset("mn1.mn.flatmob.test.", "NSEC")[0]
    names = {dns.rdatatype.to_text(t) for t in nsec_types(nsec)}
    assert names == {"A", "AAAA", "TXT", "RRSIG", "NSEC"}
