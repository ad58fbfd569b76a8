"""Peer and authenticator: success, every rejection, replies, rekeys."""

from __future__ import annotations

import pytest

from flatmob_mn.auth import (
    Authenticator,
    AuthFailure,
    LocalKeyStore,
    Peer,
    ReplyCode,
    SessionState,
    SessionStateError,
    Suite,
    decode_auth,
    encode,
)
from flatmob_mn.auth.keys import mac_key_pa
from flatmob_mn.auth.wire import TAG_LEN

from .conftest import AR, MN, T0, Rng, fixed_key, start


def rejected(auth, data, der):
    """Assert ``data`` fails with AuthFailure and changes no state."""
    before = (auth.replay_entries(), auth.epoch, auth.nonce)
    with pytest.raises(AuthFailure) as info:
        auth.verify(data, der)
    assert str(info.value) == "authentication failed"
    assert info.value.__cause__ is None
    assert (auth.replay_entries(), auth.epoch, auth.nonce) == before


def test_success_gives_both_sides_the_same_msk(pair, stores):
    peer, auth = pair
    data, session = start(peer, auth, addresses=["192.0.2.9", "2001:db8::9"])
    assert auth.peek(data) == (MN, AR)
    verified = auth.verify(data, stores[0].public_key_der())
    assert verified.peer_name == MN and verified.reroute
    assert verified.addresses == ["192.0.2.9", "2001:db8::9"]
    assert verified.timestamp == T0 and verified.epoch == auth.epoch
    assert verified.msk == session.msk and len(session.msk) == 32
    assert auth.replay_entries() == {(1, MN, decode_auth(data).peer_nonce)}
    assert session.state is SessionState.SENT


def test_without_reroute_only_the_msk(pair, stores):
    peer, auth = pair
    data, _ = start(peer, auth, reroute=False)
    verified = auth.verify(data, stores[0].public_key_der())
    assert not verified.reroute and verified.addresses == []


def test_messages_are_reproducible_with_fixed_clock_and_rng(stores, clock):
    mn, ar = stores
    out = []
    for _ in range(2):
        auth = Authenticator(ar, clock=clock, rng=Rng(b"a"))
        peer = Peer(mn, clock=clock, rng=Rng(b"p"))
        out.append(start(peer, auth)[0])
    assert out[0] == out[1]


def test_reply_success_and_new_nonce(pair, stores):
    peer, auth = pair
    data, session = start(peer, auth, addresses=["192.0.2.9"])
    verified = auth.verify(data, stores[0].public_key_der())
    epoch, nonce = auth.rotate()
    answer = auth.reply(
        verified, success=True, addresses=["192.0.2.9"], new_nonce=True
    )
    reply = session.open_reply(answer)
    assert reply.success and reply.code is ReplyCode.SUCCESS
    assert reply.addresses == ["192.0.2.9"]
    assert (reply.epoch, reply.new_nonce) == (epoch, nonce)
    assert reply.msk == verified.msk
    assert session.state is SessionState.ESTABLISHED
    with pytest.raises(AuthFailure):  # a second copy is refused
        session.open_reply(answer)


def test_reply_failure_closes_the_session(pair, stores):
    peer, auth = pair
    data, session = start(peer, auth)
    verified = auth.verify(data, stores[0].public_key_der())
    answer = auth.reply(verified, success=False, code=ReplyCode.FAILED)
    reply = session.open_reply(answer)
    assert not reply.success and reply.code is ReplyCode.FAILED
    assert reply.new_nonce is None and reply.epoch is None
    assert session.state is SessionState.CLOSED
    with pytest.raises(SessionStateError):
        session.rekey()
    with pytest.raises(ValueError):
        auth.reply(verified, success=True, code=ReplyCode.REFUSED)


def test_tampered_or_foreign_replies_fail(pair, stores):
    peer, auth = pair
    data, session = start(peer, auth)
    verified = auth.verify(data, stores[0].public_key_der())
    answer = auth.reply(verified, success=True)
    _, other = start(peer, auth)  # another session of the same peer
    with pytest.raises(AuthFailure):
        other.open_reply(answer)
    for i in range(len(answer)):
        bad = bytearray(answer)
        bad[i] ^= 0x01
        with pytest.raises(AuthFailure):
            session.open_reply(bytes(bad))
    with pytest.raises(AuthFailure):  # the AUTH itself is not a reply
        session.open_reply(data)
    assert session.state is SessionState.SENT
    assert session.open_reply(answer).success


def test_wrong_tag_wrong_key_and_every_bit_flip(pair, stores, suite):
    peer, auth = pair
    mn_der = stores[0].public_key_der()
    data, _ = start(peer, auth)
    rejected(auth, data[:-1] + bytes([data[-1] ^ 1]), mn_der)
    rejected(auth, data[:-TAG_LEN] + bytes(TAG_LEN), mn_der)
    other = LocalKeyStore(MN, fixed_key(suite, 3)).public_key_der()
    rejected(auth, data, other)
    rejected(auth, data, stores[1].public_key_der())
    for i in range(len(data)):
        for bit in (0x01, 0x80):
            bad = bytearray(data)
            bad[i] ^= bit
            rejected(auth, bytes(bad), mn_der)
    assert auth.verify(data, mn_der).peer_name == MN


def test_wrong_names(stores, clock, suite):
    mn, ar = stores
    auth = Authenticator(ar, clock=clock, rng=Rng(b"a"))
    other_ar = Authenticator(
        LocalKeyStore("ar2.lab.example", fixed_key(suite, 4)), clock=clock
    )
    peer = Peer(mn, clock=clock, rng=Rng(b"p"))
    # Addressed to another authenticator (which used the same nonce).
    data, _ = peer.start(
        other_ar.name,
        other_ar.keystore.public_key_der(),
        auth.nonce,
        auth.epoch,
        reroute=True,
    )
    rejected(auth, data, mn.public_key_der())
    # A peer claiming the authenticator's own name: the peer side
    # refuses to build it, and a crafted one is rejected.
    selfish = Peer(
        LocalKeyStore(other_ar.name, fixed_key(suite, 5)), clock=clock
    )
    with pytest.raises(ValueError):
        start(selfish, other_ar)
    message = decode_auth(start(peer, other_ar)[0])
    crafted = encode(
        message._replace(peer_name=other_ar.name), mac_key_pa(bytes(32))
    )
    rejected(other_ar, crafted, selfish.keystore.public_key_der())
    # A peer using another peer's name: its key does not match.
    liar = Peer(LocalKeyStore(MN, fixed_key(suite, 6)), clock=clock)
    data, _ = start(liar, auth)
    rejected(auth, data, mn.public_key_der())


def test_suite_mismatch(stores, clock, suite):
    mn, ar = stores
    other = next(s for s in Suite if s is not suite)
    auth = Authenticator(LocalKeyStore(AR, fixed_key(other, 2)), clock=clock)
    peer = Peer(mn, clock=clock)
    with pytest.raises(AuthFailure):  # the peer refuses the AR's key
        start(peer, auth)
    msk_der = ar.public_key_der()
    data, _ = peer.start(AR, msk_der, auth.nonce, auth.epoch, reroute=True)
    rejected(auth, data, mn.public_key_der())


@pytest.mark.parametrize("offset", [-5.001, 5.001, -3600, 1e6])
def test_stale_or_future_timestamps(pair, stores, clock, offset):
    peer, auth = pair
    data, _ = start(peer, auth)
    clock.now = T0 - offset
    rejected(auth, data, stores[0].public_key_der())
    clock.now = T0 - offset / abs(offset) * 4.999
    assert auth.verify(data, stores[0].public_key_der()).timestamp == T0


def test_replay_is_refused(pair, stores):
    peer, auth = pair
    der = stores[0].public_key_der()
    data, _ = start(peer, auth)
    auth.verify(data, der)
    rejected(auth, data, der)
    again, _ = start(peer, auth)  # a fresh nonce is fine
    auth.verify(again, der)
    assert len(auth.replay_entries()) == 2


def test_epochs_and_overlap(stores, clock):
    mn, ar = stores
    auth = Authenticator(ar, clock=clock, max_skew=5.0, overlap=10.0)
    peer = Peer(mn, clock=clock)
    der = mn.public_key_der()
    old_a, _ = start(peer, auth)
    old_b, _ = start(peer, auth)
    auth.verify(old_a, der)
    epoch, nonce = auth.rotate()
    assert epoch == 2 and nonce == auth.nonce
    rejected(auth, old_a, der)  # replay within the overlap
    clock.now += 4
    assert auth.verify(old_b, der).epoch == 1  # previous epoch: overlap
    old_nonce = decode_auth(old_a).authenticator_nonce
    clock.now += 6.5  # 10.5 s after the rotation
    old_c, _ = peer.start(AR, ar.public_key_der(), old_nonce, 1, reroute=False)
    rejected(auth, old_c, der)
    new, _ = start(peer, auth)
    assert auth.verify(new, der).epoch == 2
    assert {e for e, _, _ in auth.replay_entries()} == {1, 2}
    auth.rotate()
    assert {e for e, _, _ in auth.replay_entries()} == {2}
    auth.rotate()
    assert auth.replay_entries() == frozenset()
    assert auth.epoch == 4


def test_epoch_with_wrong_nonce(pair, stores):
    peer, auth = pair
    der = stores[0].public_key_der()
    data, _ = peer.start(
        AR,
        auth.keystore.public_key_der(),
        b"x" * 16,
        auth.epoch,
        reroute=True,
    )
    rejected(auth, data, der)
    data, _ = peer.start(
        AR,
        auth.keystore.public_key_der(),
        auth.nonce,
        auth.epoch + 1,
        reroute=True,
    )
    rejected(auth, data, der)


def test_full_seen_set_fails_until_rotation(stores, clock):
    mn, ar = stores
    auth = Authenticator(ar, clock=clock, max_seen=3)
    peer = Peer(mn, clock=clock)
    der = mn.public_key_der()
    for _ in range(3):
        auth.verify(start(peer, auth)[0], der)
    assert auth.needs_rotation
    rejected(auth, start(peer, auth)[0], der)
    auth.rotate()
    assert not auth.needs_rotation
    auth.verify(start(peer, auth)[0], der)


def test_rekey_both_ways(pair, stores):
    peer, auth = pair
    data, session = start(peer, auth)
    verified = auth.verify(data, stores[0].public_key_der())
    session.open_reply(auth.reply(verified, success=True))
    ar_session = verified.session
    first = session.msk
    message = session.rekey()
    ar_session.accept_rekey(message)
    assert session.msk == ar_session.msk != first
    assert ar_session.generation == session.generation == 1
    with pytest.raises(AuthFailure):  # replayed REKEY
        ar_session.accept_rekey(message)
    with pytest.raises(AuthFailure):  # own REKEY reflected
        session.accept_rekey(message)
    message = ar_session.rekey()
    session.accept_rekey(message)
    assert session.msk == ar_session.msk == verified.msk
    assert session.generation == 2
    assert len({first, session.msk}) == 2


def test_forged_or_crossing_rekeys_fail(pair, stores):
    peer, auth = pair
    data, session = start(peer, auth)
    verified = auth.verify(data, stores[0].public_key_der())
    session.open_reply(auth.reply(verified, success=True))
    ar_session = verified.session
    message = session.rekey()
    for i in range(len(message)):
        bad = bytearray(message)
        bad[i] ^= 0x04
        with pytest.raises(AuthFailure):
            ar_session.accept_rekey(bytes(bad))
    assert ar_session.generation == 0
    crossing = ar_session.rekey()
    with pytest.raises(AuthFailure):
        ar_session.accept_rekey(message)
    with pytest.raises(AuthFailure):
        session.accept_rekey(crossing)


def test_rekey_needs_an_established_session(pair):
    peer, auth = pair
    _, session = start(peer, auth)
    with pytest.raises(SessionStateError):
        session.rekey()


def test_caller_mistakes_are_not_auth_failures(pair, stores):
    peer, auth = pair
    der = auth.keystore.public_key_der()
    for kwargs in (
        {"authenticator_nonce": b"short"},
        {"epoch": -1},
        {"epoch": 2**32},
        {"authenticator_name": "bad..name"},
        {"addresses": ["300.1.1.1"]},
    ):
        args = {
            "authenticator_name": AR,
            "authenticator_public_der": der,
            "authenticator_nonce": auth.nonce,
            "epoch": auth.epoch,
            "reroute": True,
        } | kwargs
        with pytest.raises(ValueError):
            peer.start(**args)
    with pytest.raises(TypeError):
        auth.verify(start(peer, auth)[0], "not bytes")
    for bad in ({"max_skew": 0}, {"overlap": -1}, {"max_seen": 0}):
        with pytest.raises(ValueError):
            Authenticator(auth.keystore, **bad)


def test_a_message_forged_with_a_guessed_key_fails(pair, stores):
    peer, auth = pair
    data, _ = start(peer, auth)
    message = decode_auth(data)
    forged = encode(message._replace(flags=0), mac_key_pa(bytes(32)))
    rejected(auth, forged, stores[0].public_key_der())


def test_no_secret_in_repr(pair, stores):
    peer, auth = pair
    data, session = start(peer, auth)
    verified = auth.verify(data, stores[0].public_key_der())
    reply = session.open_reply(auth.reply(verified, success=True))
    secrets = [session.msk, session._k_pa, session._k_ap]
    objects = [
        peer,
        auth,
        session,
        verified,
        verified.session,
        reply,
        stores[0],
        stores[1],
    ]
    for obj in objects:
        for text in (repr(obj), str(obj)):
            for secret in secrets:
                assert secret.hex()[:12] not in text
                assert repr(secret)[2:14] not in text
