"""Fuzzing the parsers and verifiers: only AuthFailure, and no change.

A few thousand inputs by default; 100,000 per target with ``--long``.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flatmob_mn.auth import (
    Authenticator,
    AuthFailure,
    LocalKeyStore,
    Peer,
    Suite,
    decode_auth,
    decode_rekey,
    decode_reply,
    peek_names,
)

from .conftest import AR, MN, Clock, Rng, fixed_key

SHORT, LONG = 3000, 100_000


def examples(request, share: float = 1.0) -> int:
    """Return how many inputs to try in this mode."""
    total = LONG if request.config.getoption("--long") else SHORT
    return max(100, int(total * share))


def run(count: int, strategy, check) -> None:
    """Feed ``count`` inputs drawn from ``strategy`` to ``check``."""
    settings(
        max_examples=count,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )(given(strategy)(check))()


class World:
    """One peer, one authenticator and a genuine exchange."""

    def __init__(self) -> None:
        suite = Suite.P256_SHA256
        self.clock = Clock()
        self.mn = LocalKeyStore(MN, fixed_key(suite, 1))
        self.ar = LocalKeyStore(AR, fixed_key(suite, 2))
        self.auth = Authenticator(self.ar, clock=self.clock, rng=Rng(b"a"))
        peer = Peer(self.mn, clock=self.clock, rng=Rng(b"p"))
        self.data, self.session = peer.start(
            AR,
            self.ar.public_key_der(),
            self.auth.nonce,
            self.auth.epoch,
            reroute=True,
            addresses=["192.0.2.1", "2001:db8::1"],
        )
        verified = Authenticator(
            self.ar, clock=self.clock, rng=Rng(b"a")
        ).verify(self.data, self.mn.public_key_der())
        self.verified = verified
        self.reply = self.auth.reply(verified, success=True)
        self.der = self.mn.public_key_der()

    def verify_only_fails(self, data: bytes) -> None:
        before = self.auth.replay_entries()
        try:
            peek_names(data)
        except AuthFailure:
            pass
        try:
            self.auth.verify(data, self.der)
        except AuthFailure:
            assert self.auth.replay_entries() == before
            return
        assert data == self.data  # only the genuine message passes
        self.auth = Authenticator(self.ar, clock=self.clock, rng=Rng(b"a"))


@st.composite
def mutations(draw, genuine: bytes):
    """Return ``genuine`` with a few flips, cuts, insertions or splices."""
    data = bytearray(genuine)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "cut", "insert", "len"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[pos] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[pos : pos + draw(st.integers(1, 40))]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=40))
        elif kind == "len" and len(data) > 49:
            # The length octets of the names and the extension count.
            data[48] = draw(st.integers(0, 255))
    return bytes(data)


def test_random_bytes_fail_cleanly(request):
    world = World()
    strategy = st.one_of(
        st.binary(max_size=300),
        st.binary(min_size=4, max_size=5000).map(lambda b: b"\x01\x01" + b),
    )
    run(examples(request, 0.4), strategy, world.verify_only_fails)


def test_mutated_messages_fail_cleanly(request):
    world = World()
    run(
        examples(request, 0.6),
        mutations(world.data),
        world.verify_only_fails,
    )


def test_mutated_replies_and_rekeys_fail_cleanly(request):
    world = World()

    def check(data: bytes) -> None:
        for decode in (decode_auth, decode_reply, decode_rekey):
            try:
                decode(data)
            except AuthFailure:
                pass
        if data != world.reply:
            with pytest.raises(AuthFailure):
                world.session.open_reply(data)
        with pytest.raises(AuthFailure):
            world.verified.session.accept_rekey(data)
        assert world.verified.session.generation == 0

    run(examples(request, 0.2), mutations(world.reply), check)


@pytest.mark.slow
def test_long_mode_really_runs_long(request):
    assert examples(request) == LONG
