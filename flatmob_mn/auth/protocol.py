"""The protocol: a peer (MN) authenticates to an authenticator (AR).

One message suffices: the peer sends AUTH, tagged under K_pa, which it
derives from the MSK of its LTSS with the authenticator, the
authenticator's published nonce and a fresh peer nonce.  The
authenticator checks it and answers with a REPLY tagged under K_ap.
Either side may later send REKEY to move the session to a new MSK.

Replay protection at the authenticator:

- the timestamp must be within ``max_skew`` seconds of its clock;
- (peer name, peer nonce) may be accepted once per nonce epoch.  The
  seen-set is per epoch: ``rotate()`` starts a new epoch with a new
  nonce and an empty set, keeps the previous epoch's nonce and set for
  ``overlap`` seconds (peers may still hold the old nonce), and drops
  anything older.  Memory is therefore at most two sets of at most
  ``max_seen`` entries each.  When the current set is full, AUTH fails
  until the caller rotates (``needs_rotation`` tells).
- REKEY carries a generation number that must be exactly one more than
  the session's, so an old REKEY never applies twice.

Only complete success changes state: the seen-set is updated after the
tag has been checked, and a session moves only on a valid message.
Two REKEYs that cross in flight both fail (each side has moved to its
own generation); callers let one side (the peer) start rekeys.
"""

from __future__ import annotations

import enum
import os
import threading
import time
from collections.abc import Callable, Sequence

from flatmob_mn.auth.errors import AuthFailure, SessionStateError
from flatmob_mn.auth.keys import (
    AUTH_LABEL,
    REKEY_LABEL,
    KeyStore,
    MskContext,
    mac_key_ap,
    mac_key_pa,
    rekey_msk,
)
from flatmob_mn.auth.names import canonical_name
from flatmob_mn.auth.wire import (
    FLAG_FROM_AUTHENTICATOR,
    FLAG_NEW_NONCE,
    FLAG_REROUTE,
    NONCE_LEN,
    AuthMessage,
    RekeyMessage,
    ReplyCode,
    ReplyMessage,
    decode_auth,
    decode_rekey,
    decode_reply,
    encode,
    encode_addresses,
    peek_names,
    tag_ok,
)

Clock = Callable[[], float]
Rng = Callable[[int], bytes]

DEFAULT_MAX_SKEW = 30.0
DEFAULT_MAX_SEEN = 65536
_ZERO_NONCE = bytes(NONCE_LEN)
# Makes an MskContext from fields already checked (skips __new__).
_new_context = tuple.__new__


class Role(enum.Enum):
    """Which side of a session this is."""

    PEER = "peer"
    AUTHENTICATOR = "authenticator"


class SessionState(enum.Enum):
    """Where a session stands."""

    SENT = "sent"
    ESTABLISHED = "established"
    CLOSED = "closed"


class SessionEvent(enum.Enum):
    """What moves a session."""

    REPLY_SUCCESS = "reply success"
    REPLY_FAILURE = "reply failure"
    REKEY = "rekey"


TRANSITIONS: dict[tuple[SessionState, SessionEvent], SessionState] = {
    (SessionState.SENT, SessionEvent.REPLY_SUCCESS): (
        SessionState.ESTABLISHED
    ),
    (SessionState.SENT, SessionEvent.REPLY_FAILURE): SessionState.CLOSED,
    (SessionState.ESTABLISHED, SessionEvent.REKEY): (SessionState.ESTABLISHED),
}


def _check_nonce(nonce: bytes) -> None:
    if not isinstance(nonce, bytes) or len(nonce) != NONCE_LEN:
        raise ValueError(f"a nonce must be {NONCE_LEN} bytes")


def _check_epoch(epoch: int) -> None:
    if not isinstance(epoch, int) or not 0 <= epoch < 2**32:
        raise ValueError("an epoch must be an int of 32 bits")


class Session:
    """Keys and state one side holds after AUTH: the MSK and MAC keys."""

    def __init__(
        self,
        role: Role,
        state: SessionState,
        context: MskContext,
        msk: bytes,
        rng: Rng,
        k_pa: bytes | None = None,
    ) -> None:
        self.role = role
        self.state = state
        self.suite = context.suite
        self.peer_name = context.party_u
        self.authenticator_name = context.party_v
        self.epoch = context.epoch
        self.generation = 0
        self._nonce_u = context.nonce_u
        self._nonce_v = context.nonce_v
        self._rng = rng
        self._set_msk(msk, k_pa)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.role.value} "
            f"{self.peer_name}->{self.authenticator_name} "
            f"{self.state.value} generation {self.generation}>"
        )

    def _set_msk(self, msk: bytes, k_pa: bytes | None = None) -> None:
        self._msk = msk
        self._k_pa = k_pa or mac_key_pa(msk)
        self._k_ap_cached: bytes | None = None

    @property
    def _k_ap(self) -> bytes:
        """Return K_ap (derived when first needed)."""
        if self._k_ap_cached is None:
            self._k_ap_cached = mac_key_ap(self._msk)
        return self._k_ap_cached

    @property
    def msk(self) -> bytes:
        """Return the current master session key."""
        return self._msk

    def _move(self, event: SessionEvent) -> SessionState | None:
        """Return the state ``event`` leads to, or None if not allowed."""
        return TRANSITIONS.get((self.state, event))

    def _next_msk(
        self, generation: int, nonce_u: bytes, nonce_v: bytes
    ) -> bytes:
        context = MskContext(
            REKEY_LABEL,
            self.suite,
            self.peer_name,
            nonce_u,
            self.authenticator_name,
            nonce_v,
            generation,
        )
        return rekey_msk(self._msk, context)

    def rekey(self) -> bytes:
        """Move to a new MSK with a fresh nonce; return the REKEY to send.

        :raises SessionStateError: if the session is not established.
        """
        if self._move(SessionEvent.REKEY) is None:
            raise SessionStateError(f"cannot rekey when {self.state.value}")
        nonce = self._rng(NONCE_LEN)
        _check_nonce(nonce)
        generation = self.generation + 1
        if generation >= 2**32:
            raise SessionStateError("generation numbers are used up")
        mine = self.role is Role.AUTHENTICATOR
        # No tie-break for crossing REKEYs: both fail; the peer leads.
        message = RekeyMessage(
            self.suite,
            FLAG_FROM_AUTHENTICATOR if mine else 0,
            generation,
            nonce,
            self.peer_name,
            self.authenticator_name,
        )
        data = encode(message, self._k_ap if mine else self._k_pa)
        self._apply_rekey(generation, nonce, mine)
        return data

    def _apply_rekey(self, generation: int, nonce: bytes, by_v: bool):
        nonce_u = self._nonce_u if by_v else nonce
        nonce_v = nonce if by_v else self._nonce_v
        msk = self._next_msk(generation, nonce_u, nonce_v)
        self._nonce_u, self._nonce_v = nonce_u, nonce_v
        self.generation = generation
        self._set_msk(msk)

    def accept_rekey(self, data: bytes) -> None:
        """Check a REKEY from the other side and move to its new MSK.

        :raises AuthFailure: if the message is not a valid next REKEY.
        """
        message = decode_rekey(data)
        by_v = bool(message.flags & FLAG_FROM_AUTHENTICATOR)
        if (
            self._move(SessionEvent.REKEY) is None
            or by_v == (self.role is Role.AUTHENTICATOR)
            or message.suite != self.suite
            or message.peer_name != self.peer_name
            or message.authenticator_name != self.authenticator_name
            or message.generation != self.generation + 1
            or not tag_ok(data, self._k_ap if by_v else self._k_pa)
        ):
            raise AuthFailure()
        self._apply_rekey(message.generation, message.nonce, by_v)


class Reply:
    """A verified REPLY, as the peer sees it."""

    def __init__(self, message: ReplyMessage, session: PeerSession) -> None:
        self.code = ReplyCode(message.code)
        self.success = self.code is ReplyCode.SUCCESS
        self.addresses = list(message.addresses)
        has_new = bool(message.flags & FLAG_NEW_NONCE)
        self.new_nonce: bytes | None = message.new_nonce if has_new else None
        self.epoch: int | None = message.epoch if has_new else None
        self.extensions = message.extensions
        self._session = session

    def __repr__(self) -> str:
        return (
            f"<Reply {self.code.name} addresses={self.addresses} "
            f"new epoch={self.epoch}>"
        )

    @property
    def msk(self) -> bytes:
        """Return the session's MSK (now confirmed by the authenticator)."""
        return self._session.msk


class PeerSession(Session):
    """The peer's side of a session, from AUTH sent onwards."""

    def open_reply(self, data: bytes) -> Reply:
        """Check the authenticator's REPLY to this session's AUTH.

        :raises AuthFailure: if it is not a valid REPLY to this AUTH.
        """
        message = decode_reply(data)
        success = message.code == ReplyCode.SUCCESS
        event = (
            SessionEvent.REPLY_SUCCESS
            if success
            else SessionEvent.REPLY_FAILURE
        )
        after = self._move(event)
        echo_ok = message.flags & FLAG_NEW_NONCE or message.epoch == self.epoch
        if (
            after is None
            or self.generation != 0
            or message.suite != self.suite
            or message.peer_name != self.peer_name
            or message.authenticator_name != self.authenticator_name
            or message.peer_nonce != self._nonce_u
            or not echo_ok
            or not tag_ok(data, self._k_ap)
        ):
            raise AuthFailure()
        self.state = after
        return Reply(message, self)


class Verified:
    """An AUTH that passed every check, as the authenticator sees it."""

    __slots__ = (
        "peer_name",
        "authenticator_name",
        "reroute",
        "addresses",
        "timestamp",
        "timestamp_us",
        "epoch",
        "peer_nonce",
        "extensions",
        "_context",
        "_msk",
        "_k_pa",
        "_rng",
        "_session",
    )

    def __init__(
        self,
        message: AuthMessage,
        context: MskContext,
        msk: bytes,
        k_pa: bytes,
        rng: Rng,
    ) -> None:
        self.peer_name = message.peer_name
        self.authenticator_name = message.authenticator_name
        self.reroute = bool(message.flags & FLAG_REROUTE)
        self.addresses = list(message.addresses)
        self.timestamp_us = message.timestamp_us
        self.timestamp = message.timestamp_us / 1e6
        self.epoch = message.epoch
        self.peer_nonce = message.peer_nonce
        self.extensions = message.extensions
        self._context = context
        self._msk = msk
        self._k_pa = k_pa
        self._rng = rng
        self._session: Session | None = None

    def __repr__(self) -> str:
        return (
            f"<Verified {self.peer_name}->{self.authenticator_name} "
            f"reroute={self.reroute} addresses={self.addresses} "
            f"timestamp={self.timestamp:.6f} epoch={self.epoch}>"
        )

    @property
    def session(self) -> Session:
        """Return the authenticator's session (made when first asked)."""
        if self._session is None:
            self._session = Session(
                Role.AUTHENTICATOR,
                SessionState.ESTABLISHED,
                self._context,
                self._msk,
                self._rng,
                self._k_pa,
            )
        return self._session

    @property
    def msk(self) -> bytes:
        """Return the session's current MSK."""
        if self._session is None:
            return self._msk
        return self._session.msk


class Peer:
    """The peer (MN) side: builds AUTH messages."""

    def __init__(
        self,
        keystore: KeyStore,
        clock: Clock = time.time,
        rng: Rng = os.urandom,
    ) -> None:
        self.keystore = keystore
        self.name = keystore.name
        self.suite = keystore.suite
        self._clock = clock
        self._rng = rng

    def __repr__(self) -> str:
        return f"<Peer {self.name}>"

    def start(
        self,
        authenticator_name: str,
        authenticator_public_der: bytes,
        authenticator_nonce: bytes,
        epoch: int,
        *,
        reroute: bool,
        addresses: Sequence[str] = (),
    ) -> tuple[bytes, PeerSession]:
        """Return an AUTH for the authenticator and the new session.

        :param authenticator_nonce: the nonce the authenticator
            published for ``epoch``.
        :param reroute: ask the authenticator to re-route at once.
        :param addresses: the addresses to re-route (IPv4 or IPv6).
        :raises ValueError: if a name, nonce, epoch or address is bad.
        :raises AuthFailure: if the authenticator's public key is bad.
        """
        auth_name = canonical_name(authenticator_name)
        _check_nonce(authenticator_nonce)
        _check_epoch(epoch)
        encode_addresses(addresses)
        nonce = self._rng(NONCE_LEN)
        _check_nonce(nonce)
        context = MskContext(
            AUTH_LABEL,
            self.suite,
            self.name,
            nonce,
            auth_name,
            authenticator_nonce,
            epoch,
        )
        msk = self.keystore.derive_msk(
            auth_name, authenticator_public_der, context
        )
        message = AuthMessage(
            self.suite,
            FLAG_REROUTE if reroute else 0,
            epoch,
            int(self._clock() * 1e6),
            authenticator_nonce,
            nonce,
            self.name,
            auth_name,
            tuple(addresses),
        )
        session = PeerSession(
            Role.PEER, SessionState.SENT, context, msk, self._rng
        )
        return encode(message, session._k_pa), session


class Authenticator:
    """The authenticator (AR) side: checks AUTH, answers with REPLY."""

    def __init__(
        self,
        keystore: KeyStore,
        clock: Clock = time.time,
        rng: Rng = os.urandom,
        max_skew: float = DEFAULT_MAX_SKEW,
        overlap: float | None = None,
        max_seen: int = DEFAULT_MAX_SEEN,
        epoch: int = 1,
    ) -> None:
        """Make an authenticator with a fresh nonce for ``epoch``.

        :param max_skew: largest accepted clock difference, seconds.
        :param overlap: seconds the previous epoch stays accepted after
            ``rotate()``; twice ``max_skew`` if omitted.
        :param max_seen: most (peer, nonce) pairs kept per epoch.
        :raises ValueError: if a setting is out of range.
        """
        if not max_skew > 0:
            raise ValueError("max_skew must be positive")
        overlap = 2 * max_skew if overlap is None else overlap
        if not overlap >= 0:
            raise ValueError("overlap must not be negative")
        if not isinstance(max_seen, int) or max_seen < 1:
            raise ValueError("max_seen must be a positive int")
        _check_epoch(epoch)
        self.keystore = keystore
        self.name = keystore.name
        self.suite = keystore.suite
        self._suite_code = int(keystore.suite)
        self.max_skew = float(max_skew)
        self.overlap = float(overlap)
        self.max_seen = max_seen
        self._clock = clock
        self._rng = rng
        self._skew_us = int(self.max_skew * 1e6)
        self._lock = threading.Lock()
        self._epoch = epoch
        self._nonce = self._new_nonce()
        self._seen: set[tuple[str, bytes]] = set()
        self._previous: tuple[int, bytes, set, float] | None = None

    def __repr__(self) -> str:
        return (
            f"<Authenticator {self.name} epoch {self._epoch} "
            f"seen {len(self._seen)}>"
        )

    def _new_nonce(self) -> bytes:
        nonce = self._rng(NONCE_LEN)
        _check_nonce(nonce)
        return nonce

    @property
    def nonce(self) -> bytes:
        """Return the nonce to publish for the current epoch."""
        return self._nonce

    @property
    def epoch(self) -> int:
        """Return the current nonce epoch."""
        return self._epoch

    @property
    def needs_rotation(self) -> bool:
        """Tell whether the current epoch's seen-set is full."""
        return len(self._seen) >= self.max_seen

    def rotate(self) -> tuple[int, bytes]:
        """Start a new epoch with a new nonce; return (epoch, nonce)."""
        nonce = self._new_nonce()
        with self._lock:
            self._previous = (
                self._epoch,
                self._nonce,
                self._seen,
                self._clock(),
            )
            self._epoch = (self._epoch + 1) % 2**32
            self._nonce = nonce
            self._seen = set()
        return self._epoch, nonce

    def replay_entries(self) -> frozenset[tuple[int, str, bytes]]:
        """Return every (epoch, peer name, peer nonce) the cache holds."""
        with self._lock:
            found = {(self._epoch, p, n) for p, n in self._seen}
            if self._previous is not None:
                epoch, _, seen, _ = self._previous
                found |= {(epoch, p, n) for p, n in seen}
        return frozenset(found)

    def peek(self, data: bytes) -> tuple[str, str]:
        """Return the claimed (peer name, authenticator name), UNVERIFIED.

        Use it only to look up the peer's public key.

        :raises AuthFailure: if ``data`` is not a well-formed message.
        """
        return peek_names(data)

    def _seen_set(self, epoch: int, nonce: bytes, now: float):
        """Return the seen-set of ``epoch`` if its nonce is accepted."""
        if epoch == self._epoch and nonce == self._nonce:
            return self._seen
        previous = self._previous
        if (
            previous is not None
            and epoch == previous[0]
            and nonce == previous[1]
            and now - previous[3] <= self.overlap
        ):
            return previous[2]
        return None

    def verify(self, data: bytes, peer_public_der: bytes) -> Verified:
        """Check an AUTH from the peer whose public key is given.

        :param peer_public_der: the claimed peer's public key
            (SubjectPublicKeyInfo DER, from its TLSA record).
        :raises AuthFailure: if anything about the message is wrong.
        :raises TypeError: if ``peer_public_der`` is not bytes.
        :raises KeyStoreError: if a remote key store cannot be reached.
        """
        if not isinstance(peer_public_der, bytes):
            raise TypeError("peer_public_der must be bytes")
        message = decode_auth(data)
        suite, _, epoch, stamp, a_nonce, p_nonce, peer, name, _, _ = message
        now = self._clock()
        seen = self._seen_set(epoch, a_nonce, now)
        entry = (peer, p_nonce)
        if (
            seen is None
            or suite != self._suite_code
            or name != self.name
            or peer == name
            or abs(int(now * 1e6) - stamp) > self._skew_us
            or entry in seen
            or len(seen) >= self.max_seen
        ):
            raise AuthFailure()
        context = _new_context(
            MskContext,
            (AUTH_LABEL, self.suite, peer, p_nonce, name, a_nonce, epoch),
        )
        msk = self.keystore.derive_msk(peer, peer_public_der, context)
        k_pa = mac_key_pa(msk)
        if not tag_ok(data, k_pa):
            raise AuthFailure()
        with self._lock:
            if entry in seen or len(seen) >= self.max_seen:
                raise AuthFailure()
            seen.add(entry)
        return Verified(message, context, msk, k_pa, self._rng)

    def reply(
        self,
        verified: Verified,
        *,
        success: bool,
        addresses: Sequence[str] = (),
        new_nonce: bool = False,
        code: ReplyCode | None = None,
    ) -> bytes:
        """Return the REPLY to a verified AUTH.

        :param addresses: the addresses that were re-routed.
        :param new_nonce: include the current epoch and nonce, so the
            peer can use them next time (the caller rotates).
        :param code: a failure code other than REFUSED, if wanted.
        :raises ValueError: if ``code`` disagrees with ``success``.
        """
        if code is None:
            code = ReplyCode.SUCCESS if success else ReplyCode.REFUSED
        if (code is ReplyCode.SUCCESS) != bool(success):
            raise ValueError("code must be SUCCESS exactly when success")
        session = verified.session
        if new_nonce:
            epoch, nonce, flags = self._epoch, self._nonce, FLAG_NEW_NONCE
        else:
            epoch, nonce, flags = verified.epoch, _ZERO_NONCE, 0
        message = ReplyMessage(
            self.suite,
            flags,
            code,
            epoch,
            verified.peer_nonce,
            nonce,
            verified.peer_name,
            verified.authenticator_name,
            tuple(addresses),
        )
        return encode(message, session._k_ap)
