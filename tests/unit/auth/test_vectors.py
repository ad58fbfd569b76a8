"""RFC 4231 (HMAC-SHA-256) and RFC 7748 (X25519) known answers."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import x25519

from flatmob_mn.auth import (
    Authenticator,
    AuthFailure,
    LocalKeyStore,
    MskContext,
    Suite,
    ecdh_secret,
    load_public_der,
)
from flatmob_mn.auth.keys import AUTH_LABEL
from flatmob_mn.auth.wire import tag, tag_ok

from .conftest import AR, MN, vectors

HMAC = vectors("rfc4231_hmac_sha256.json")["cases"]
X25519 = vectors("rfc7748_x25519.json")

# SubjectPublicKeyInfo of an X25519 key up to the 32-octet u-coordinate.
SPKI_X25519 = bytes.fromhex("302a300506032b656e032100")


@pytest.mark.parametrize("case", HMAC, ids=lambda c: f"case{c['case']}")
def test_rfc4231_hmac_sha256(case):
    key, data = bytes.fromhex(case["key"]), bytes.fromhex(case["data"])
    expected = bytes.fromhex(case["hmac_sha256"])
    assert tag(key, data)[: len(expected)] == expected
    if len(expected) == 32:
        assert tag_ok(data + expected, key)
        assert not tag_ok(data + bytes(32), key)


def _private(hex_scalar: str) -> x25519.X25519PrivateKey:
    return x25519.X25519PrivateKey.from_private_bytes(
        bytes.fromhex(hex_scalar)
    )


def _public(hex_u: str) -> x25519.X25519PublicKey:
    return x25519.X25519PublicKey.from_public_bytes(bytes.fromhex(hex_u))


@pytest.mark.parametrize("case", X25519["scalar_mult"])
def test_rfc7748_scalar_multiplication(case):
    z = ecdh_secret(_private(case["scalar"]), _public(case["u"]))
    assert z.hex() == case["output"]


def test_rfc7748_iterated_1000_times():
    k = u = bytes.fromhex(X25519["iterated"]["start"])
    for i in range(1000):
        k, u = ecdh_secret(_private(k.hex()), _public(u.hex())), k
        if i == 0:
            assert k.hex() == X25519["iterated"]["after_1"]
    assert k.hex() == X25519["iterated"]["after_1000"]


def test_rfc7748_diffie_hellman():
    dh = X25519["diffie_hellman"]
    alice, bob = _private(dh["alice_private"]), _private(dh["bob_private"])
    assert alice.public_key().public_bytes_raw().hex() == dh["alice_public"]
    assert bob.public_key().public_bytes_raw().hex() == dh["bob_public"]
    assert ecdh_secret(alice, bob.public_key()).hex() == dh["shared"]
    assert ecdh_secret(bob, alice.public_key()).hex() == dh["shared"]


def test_rfc7748_shared_secret_through_key_stores():
    dh = X25519["diffie_hellman"]
    alice = LocalKeyStore(MN, _private(dh["alice_private"]))
    bob = LocalKeyStore(AR, _private(dh["bob_private"]))
    context = MskContext(
        AUTH_LABEL, Suite.X25519_SHA256, MN, b"u" * 16, AR, b"v" * 16, 1
    )
    assert alice.derive_msk(
        AR, bob.public_key_der(), context
    ) == bob.derive_msk(MN, alice.public_key_der(), context)
    assert bob.public_key_der() == SPKI_X25519 + bytes.fromhex(
        dh["bob_public"]
    )


@pytest.mark.parametrize("point", X25519["low_order_u"]["points"])
def test_low_order_points_are_refused(point):
    private = _private(X25519["diffie_hellman"]["alice_private"])
    with pytest.raises(AuthFailure):
        ecdh_secret(private, _public(point))
    der = SPKI_X25519 + bytes.fromhex(point)
    store = LocalKeyStore(AR, private)
    context = MskContext(
        AUTH_LABEL, Suite.X25519_SHA256, MN, b"u" * 16, AR, b"v" * 16, 1
    )
    with pytest.raises(AuthFailure):
        store.derive_msk(MN, der, context)
    assert store.cached_peers == 0


def test_low_order_peer_key_fails_verification_without_state_change():
    from flatmob_mn.auth import Peer

    from .conftest import Rng, fixed_key, start

    suite = Suite.X25519_SHA256
    mn = LocalKeyStore(MN, fixed_key(suite, 1))
    auth = Authenticator(LocalKeyStore(AR, fixed_key(suite, 2)))
    data, _ = start(Peer(mn, rng=Rng(b"p")), auth)
    for point in X25519["low_order_u"]["points"]:
        der = SPKI_X25519 + bytes.fromhex(point)
        assert load_public_der(der, suite)  # parses: the point is the issue
        with pytest.raises(AuthFailure):
            auth.verify(data, der)
    assert auth.replay_entries() == frozenset()
    assert auth.verify(data, mn.public_key_der()).peer_name == MN
