"""The resolver against a loopback responder serving a signed zone."""

from __future__ import annotations

import time

import pytest

from flatmob_mn.naming.client import Resolver
from flatmob_mn.naming.errors import BogusAnswer, NoRecord, ServerUnreachable

from .conftest import NOW, Responder, make_zone

MN1 = "mn1.mn.flatmob.test."
SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d0301")


def _resolver(responder: Responder, clock, **kwargs) -> Resolver:
    anchors = {"mn.flatmob.test.": (responder.signed.dnskey,)}
    return Resolver(
        responder.server, anchors, clock=clock, wallclock=clock, **kwargs
    )


def test_records_are_read_and_validated(responder, frozen) -> None:
    resolver = _resolver(responder, frozen)
    assert resolver.public_key(MN1) == SPKI_PREFIX
    assert resolver.addresses(MN1) == [
        "10.64.4.9",
        "2001:db8::5",
        "10.64.3.7",
    ]
    assert resolver.addresses("mn2.mn.flatmob.test.") == ["10.64.3.8"]
    assert resolver.nonce("mn2.mn.flatmob.test.") == (4, b"\0\1\2\3")


def test_cache_honours_ttl(responder, frozen) -> None:
    resolver = _resolver(responder, frozen)
    resolver.public_key(MN1)
    asked = len(responder.queries)
    assert responder.queries == [
        ("mn.flatmob.test.", "DNSKEY"),
        ("_7410._udp.mn1.mn.flatmob.test.", "TLSA"),
    ]
    frozen.now += 59
    resolver.public_key(MN1)
    assert len(responder.queries) == asked
    frozen.now += 2
    resolver.public_key(MN1)
    assert responder.queries[asked:] == [
        ("mn.flatmob.test.", "DNSKEY"),
        ("_7410._udp.mn1.mn.flatmob.test.", "TLSA"),
    ]


def test_cache_ends_at_rrsig_expiration(responder, frozen) -> None:
    responder.signed = make_zone(expiration=NOW + 10)
    resolver = _resolver(responder, frozen)
    resolver.public_key(MN1)
    frozen.now += 9
    resolver.public_key(MN1)
    assert len(responder.queries) == 2
    frozen.now += 2
    with pytest.raises(BogusAnswer, match="RRSIG expired"):
        resolver.public_key(MN1)


def test_absence_is_cached(responder, frozen) -> None:
    resolver = _resolver(responder, frozen)
    for _ in range(2):
        with pytest.raises(NoRecord, match="mn9.mn.flatmob.test"):
            resolver.addresses("mn9.mn.flatmob.test.")
    assert responder.queries.count(("mn9.mn.flatmob.test.", "A")) == 1
    frozen.now += 6
    with pytest.raises(NoRecord):
        resolver.addresses("mn9.mn.flatmob.test.")
    assert responder.queries.count(("mn9.mn.flatmob.test.", "A")) == 2


def test_wrong_anchor_fails_closed(responder, frozen) -> None:
    anchors = {"mn.flatmob.test.": (make_zone(seed=9).dnskey,)}
    resolver = Resolver(
        responder.server, anchors, clock=frozen, wallclock=frozen
    )
    with pytest.raises(BogusAnswer, match="mn.flatmob.test. DNSKEY"):
        resolver.public_key(MN1)


def test_name_outside_anchors_fails_closed(responder, frozen) -> None:
    resolver = _resolver(responder, frozen)
    with pytest.raises(BogusAnswer, match="ar1.isp.flatmob.test.*anchor"):
        resolver.nonce("ar1.isp.flatmob.test.")
    assert responder.queries == []


def test_silent_server_gives_up_in_time(responder, frozen) -> None:
    responder.silent = True
    resolver = _resolver(responder, frozen, timeout=0.1, retries=2)
    start = time.monotonic()
    with pytest.raises(ServerUnreachable, match="3 tries of 0.1 s"):
        resolver.public_key(MN1)
    assert time.monotonic() - start < 0.6
    assert len(responder.queries) == 3
