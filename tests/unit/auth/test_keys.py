"""Suites, key loading, FixedInfo, the LTSS cache and LocalKeyStore."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from flatmob_mn.auth import (
    AuthFailure,
    KeyStore,
    KeyStoreError,
    LocalKeyStore,
    LtssCache,
    MskContext,
    Suite,
    ecdh_secret,
    load_public_der,
    one_step_kdf,
    public_der,
)
from flatmob_mn.auth.keys import AUTH_LABEL

from .conftest import AR, MN, fixed_key

NU, NV = bytes(range(16)), bytes(range(16, 32))
SPKI_P256 = bytes.fromhex(
    "3059301306072a8648ce3d020106082a8648ce3d030107034200"
)


def context(suite=Suite.P256_SHA256, epoch=7) -> MskContext:
    return MskContext(AUTH_LABEL, suite, MN, NU, AR, NV, epoch)


def test_fixed_info_layout_is_exact():
    info = context().fixed_info()
    expected = (
        bytes([21])
        + b"flatmob-mn/1 auth msk"
        + bytes([15])
        + b"mn1.lab.example"
        + NU
        + bytes([15])
        + b"ar1.lab.example"
        + NV
        + b"\x01"
        + (7).to_bytes(4, "big")
        + (256).to_bytes(4, "big")
    )
    assert info == expected
    assert MskContext.from_fixed_info(info) == (context(), 32)


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"\x05abc",
        context().fixed_info() + b"x",
        context().fixed_info()[:-1],
    ],
)
def test_malformed_fixed_info_is_refused(bad):
    with pytest.raises(ValueError):
        MskContext.from_fixed_info(bad)


def test_msk_is_the_kdf_of_the_ltss(stores, suite):
    mn, ar = stores
    ctx = context(suite)
    msk = mn.derive_msk(AR, ar.public_key_der(), ctx)
    assert msk == ar.derive_msk(MN, mn.public_key_der(), ctx)
    z = ecdh_secret(fixed_key(suite, 1), load_public_der(ar.public_key_der()))
    assert msk == one_step_kdf(z, ctx.fixed_info(), 32)
    longer = mn.derive_msk(AR, ar.public_key_der(), ctx, 48)
    assert longer == one_step_kdf(z, ctx.fixed_info(48), 48)


def test_every_field_changes_the_msk(stores, suite):
    mn, ar = stores
    der = ar.public_key_der()
    base = context(suite)
    variants = [
        base._replace(label=b"other label"),
        base._replace(nonce_u=NV, nonce_v=NU),
        base._replace(epoch=8),
    ]
    results = {mn.derive_msk(AR, der, c) for c in [base, *variants]}
    assert len(results) == 4


@pytest.mark.parametrize(
    "change",
    [
        {"party_u": "mn2.lab.example"},
        {"party_u": "MN1.lab.example"},
        {"party_v": MN},
        {"nonce_u": b"short"},
        {"epoch": 2**32},
        {"label": b""},
        {"suite": 9},
    ],
)
def test_bad_contexts_are_caller_mistakes(stores, change):
    mn, ar = stores
    with pytest.raises(ValueError):
        mn.derive_msk(AR, ar.public_key_der(), context()._replace(**change))
    assert mn.cached_peers == 0


def test_context_for_another_suite_is_refused(stores, suite):
    mn, ar = stores
    other = next(s for s in Suite if s is not suite)
    with pytest.raises(ValueError):
        mn.derive_msk(AR, ar.public_key_der(), context(other))


def test_off_curve_p256_point_is_refused():
    store = LocalKeyStore(AR, fixed_key(Suite.P256_SHA256, 2))
    good = public_der(fixed_key(Suite.P256_SHA256, 1))
    point = bytearray(good[len(SPKI_P256) :])
    point[-1] ^= 1  # y no longer matches x
    for der in (
        SPKI_P256 + bytes(point),
        SPKI_P256 + b"\x00" + bytes(64),
        good[:-1],
        good + b"\x00",
        b"",
        b"\x30\x00",
    ):
        with pytest.raises(AuthFailure):
            load_public_der(der)
        with pytest.raises(AuthFailure):
            store.derive_msk(MN, der, context())
    assert store.cached_peers == 0


def test_keys_of_other_curves_or_suites_are_refused(suite):
    store = LocalKeyStore(AR, fixed_key(suite, 2))
    others = [
        public_der(ec.generate_private_key(ec.SECP384R1())),
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(
            serialization.Encoding.DER,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        ),
        public_der(next(s for s in Suite if s is not suite).generate()),
    ]
    for der in others:
        with pytest.raises(AuthFailure):
            store.derive_msk(MN, der, context(suite))


def test_ltss_cache_is_a_bounded_lru():
    cache = LtssCache(2)
    cache.put(b"a", b"1")
    cache.put(b"b", b"2")
    assert cache.get(b"a") == b"1"  # a is now the most recent
    cache.put(b"c", b"3")
    assert cache.get(b"b") is None
    assert cache.get(b"a") == b"1" and cache.get(b"c") == b"3"
    assert len(cache) == 2
    with pytest.raises(ValueError):
        LtssCache(-1)


def test_key_store_caches_and_evicts(suite):
    store = LocalKeyStore(AR, fixed_key(suite, 2), cache_size=2)
    peers = [public_der(fixed_key(suite, n)) for n in (10, 11, 12)]
    msks = [store.derive_msk(MN, der, context(suite)) for der in peers]
    assert store.cached_peers == 2
    again = [store.derive_msk(MN, der, context(suite)) for der in peers]
    assert again == msks
    store.forget()
    assert store.cached_peers == 0


def test_save_and_load(tmp_path, suite):
    store = LocalKeyStore.generate("Ar1.Lab.Example.", suite)
    assert store.name == AR
    path = tmp_path / "ar1.pem"
    store.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = LocalKeyStore.load(path, AR)
    assert loaded.suite is suite
    assert loaded.public_key_der() == store.public_key_der()
    assert isinstance(loaded, KeyStore)


def test_save_tightens_an_existing_file(tmp_path):
    path = tmp_path / "key.pem"
    path.write_text("old")
    path.chmod(0o644)
    LocalKeyStore.generate(AR).save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_load_errors(tmp_path):
    with pytest.raises(KeyStoreError):
        LocalKeyStore.load(tmp_path / "missing.pem", AR)
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(KeyStoreError):
        LocalKeyStore.load(tmp_path / "junk.pem", AR)
    other = ec.generate_private_key(ec.SECP384R1())
    (tmp_path / "p384.pem").write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(KeyStoreError):
        LocalKeyStore.load(tmp_path / "p384.pem", AR)


@pytest.mark.parametrize("name", ["", "a..b", "-a.b", "a" * 64, "é.example"])
def test_bad_names_are_refused(name):
    with pytest.raises(ValueError):
        LocalKeyStore.generate(name)


def test_repr_shows_no_secret(stores, suite):
    mn, ar = stores
    msk = mn.derive_msk(AR, ar.public_key_der(), context(suite))
    private = fixed_key(suite, 1).private_bytes(
        serialization.Encoding.Raw
        if suite is Suite.X25519_SHA256
        else serialization.Encoding.DER,
        serialization.PrivateFormat.Raw
        if suite is Suite.X25519_SHA256
        else serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    ltss = ecdh_secret(
        fixed_key(suite, 1), load_public_der(ar.public_key_der())
    )
    for text in (repr(mn), str(mn), repr(mn._cache)):
        for secret in (msk, ltss, private):
            assert secret.hex() not in text
            assert secret.hex()[:16] not in text
            assert repr(secret)[2:20] not in text
    digest = hashlib.sha256(mn.public_key_der()).hexdigest()[:16]
    assert digest in repr(mn)


def test_mac_keys_follow_the_documented_formula():
    from flatmob_mn.auth.keys import mac_key_ap, mac_key_pa

    msk = bytes(range(32))
    for key, label in ((mac_key_pa, b"p2a"), (mac_key_ap, b"a2p")):
        text = b"flatmob-mn/1 mac " + label
        expected = hashlib.sha256(
            b"\x00\x00\x00\x01" + msk + bytes([len(text)]) + text
        ).digest()
        assert key(msk) == expected
    assert mac_key_pa(msk) != mac_key_ap(msk)
