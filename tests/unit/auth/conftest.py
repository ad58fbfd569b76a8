"""Fixtures of the authentication tests: fixed keys, clock and nonces."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from flatmob_mn.auth import Authenticator, LocalKeyStore, Peer, Suite

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "auth"

MN = "mn1.lab.example"
AR = "ar1.lab.example"
T0 = 1_700_000_000.0


def vectors(name: str) -> dict:
    """Return the JSON vector file ``name``."""
    return json.loads((VECTORS / name).read_text())


class Clock:
    """A clock that moves only when told."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Rng:
    """A repeatable random source: SHA-256 of a seed and a counter."""

    def __init__(self, seed: bytes) -> None:
        self.seed = seed
        self.count = 0

    def __call__(self, size: int) -> bytes:
        out = b""
        while len(out) < size:
            self.count += 1
            block = self.seed + self.count.to_bytes(8, "big")
            out += hashlib.sha256(block).digest()
        return out[:size]


def fixed_key(suite: Suite, seed: int):
    """Return a private key of ``suite`` made from ``seed``."""
    raw = hashlib.sha256(b"fa-key %d" % seed).digest()
    if suite is Suite.P256_SHA256:
        return ec.derive_private_key(
            int.from_bytes(raw, "big"), ec.SECP256R1()
        )
    return x25519.X25519PrivateKey.from_private_bytes(raw)


@pytest.fixture(params=list(Suite), ids=lambda s: s.name)
def suite(request) -> Suite:
    """Each suite in turn."""
    return request.param


@pytest.fixture
def stores(suite):
    """Return (MN key store, AR key store) with fixed keys."""
    return (
        LocalKeyStore(MN, fixed_key(suite, 1)),
        LocalKeyStore(AR, fixed_key(suite, 2)),
    )


@pytest.fixture
def clock() -> Clock:
    """A fixed clock at T0."""
    return Clock()


@pytest.fixture
def pair(stores, clock):
    """Return (peer, authenticator) with fixed clock and nonces."""
    mn, ar = stores
    peer = Peer(mn, clock=clock, rng=Rng(b"peer"))
    auth = Authenticator(ar, clock=clock, rng=Rng(b"auth"), max_skew=5.0)
    return peer, auth


def start(peer, auth, **kwargs):
    """Return (AUTH message, peer session) for ``auth``'s current nonce."""
    kwargs.setdefault("reroute", True)
    return peer.start(
        auth.name,
        auth.keystore.public_key_der(),
        auth.nonce,
        auth.epoch,
        **kwargs,
    )
