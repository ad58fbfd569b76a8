"""Wire formats of the authentication protocol, version 1.

Three messages, all ending in a 32-octet HMAC-SHA-256 tag over every
octet before it.  Integers are big-endian.  Names are canonical DNS
names (see :mod:`flatmob_mn.auth.names`), nonces 16 octets.

Every message starts with the same four octets::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +---------------+---------------+---------------+---------------+
    |  Version = 1  |     Type      |     Suite     |     Flags     |
    +---------------+---------------+---------------+---------------+

AUTH (Type 1), peer (MN) to authenticator (AR); tag under K_pa::

    +---------------+---------------+---------------+---------------+
    |  Version = 1  |   Type = 1    |     Suite     | Flags: 0x01 = |
    |               |               |               |   REROUTE     |
    +---------------+---------------+---------------+---------------+
    |            Epoch of the authenticator nonce (32 bits)         |
    +---------------------------------------------------------------+
    |          Timestamp, microseconds since the Unix epoch         |
    |                          (64 bits)                            |
    +---------------------------------------------------------------+
    |              Authenticator nonce (16 octets)                  |
    +---------------------------------------------------------------+
    |                  Peer nonce (16 octets)                       |
    +---------------+-----------------------------------------------+
    | Peer name len |  Peer name (1..253 octets)                    |
    +---------------+-----------------------------------------------+
    | Auth name len |  Authenticator name (1..253 octets)           |
    +---------------+-----------------------------------------------+
    | Ext. count    |  Extensions (count x TLV, see below)          |
    +---------------+-----------------------------------------------+
    |               Tag, HMAC-SHA-256 (32 octets)                   |
    +---------------------------------------------------------------+

REPLY (Type 2), authenticator to peer; tag under K_ap::

    +---------------+---------------+---------------+---------------+
    |  Version = 1  |   Type = 2    |     Suite     | Flags: 0x01 = |
    |               |               |               |   NEW_NONCE   |
    +---------------+---------------+---------------+---------------+
    |     Code      |             Reserved (zero)                   |
    +---------------+-----------------------------------------------+
    |  Epoch: of the new nonce if NEW_NONCE, else the one AUTH used |
    +---------------------------------------------------------------+
    |            Peer nonce, echoed from AUTH (16 octets)           |
    +---------------------------------------------------------------+
    |    New authenticator nonce (16 octets; zero if no NEW_NONCE)  |
    +---------------+-----------------------------------------------+
    | Peer name len |  Peer name                                    |
    | Auth name len |  Authenticator name                           |
    | Ext. count    |  Extensions (ADDRESSES: those re-routed)      |
    +---------------+-----------------------------------------------+
    |               Tag, HMAC-SHA-256 (32 octets)                   |
    +---------------------------------------------------------------+

REKEY (Type 3), either side; tag under the sender's MAC key of the
current generation (K_pa if the peer sends, K_ap if the authenticator)::

    +---------------+---------------+---------------+---------------+
    |  Version = 1  |   Type = 3    |     Suite     | Flags: 0x01 = |
    |               |               |               | FROM_AUTHENT. |
    +---------------+---------------+---------------+---------------+
    |          New generation (current generation + 1)              |
    +---------------------------------------------------------------+
    |              Sender's fresh nonce (16 octets)                 |
    +---------------+-----------------------------------------------+
    | Peer name len |  Peer name                                    |
    | Auth name len |  Authenticator name                           |
    | Ext. count    |  Extensions                                   |
    +---------------+-----------------------------------------------+
    |               Tag, HMAC-SHA-256 (32 octets)                   |
    +---------------------------------------------------------------+

One extension (at most 8 per message, values at most 1024 octets)::

    +---------------+-------------------------------+---------------+
    |     Type      |        Length (16 bits)       |  Value ...    |
    +---------------+-------------------------------+---------------+

Extension type 1, ADDRESSES: a list of addresses, each one octet 4 or 6
followed by 4 or 16 octets of IPv4 or IPv6 address.  Other types are
carried, covered by the tag and handed to the caller untouched.

Decoding checks structure only (lengths, names, reserved bits); it
never checks the tag.  Anything malformed raises :class:`AuthFailure`.
"""

from __future__ import annotations

import enum
import hmac
import ipaddress
import socket
import struct
from collections.abc import Sequence
from typing import NamedTuple

from flatmob_mn.auth.errors import AuthFailure
from flatmob_mn.auth.names import is_canonical

VERSION = 1
NONCE_LEN = 16
TAG_LEN = 32
MAX_MESSAGE = 4096
MAX_EXTENSIONS = 8
MAX_EXTENSION_VALUE = 1024

FLAG_REROUTE = 0x01
FLAG_NEW_NONCE = 0x01
FLAG_FROM_AUTHENTICATOR = 0x01

EXT_ADDRESSES = 1

_ZERO_NONCE = bytes(NONCE_LEN)
_AUTH_FIXED = struct.Struct("!BBBBIQ16s16s")
_REPLY_FIXED = struct.Struct("!BBBBB3sI16s16s")
_REKEY_FIXED = struct.Struct("!BBBBI16s")
_EXT_HEAD = struct.Struct("!BH")
_AUTH_MIN = _AUTH_FIXED.size + 2 * 2 + 1 + TAG_LEN
_unpack_auth = _AUTH_FIXED.unpack_from
_new_auth = tuple.__new__
_RESERVED = bytes(3)


class MessageType(enum.IntEnum):
    """The Type octet of every message."""

    AUTH = 1
    REPLY = 2
    REKEY = 3


class ReplyCode(enum.IntEnum):
    """The Code octet of a REPLY."""

    SUCCESS = 0
    REFUSED = 1
    FAILED = 2


_TYPES = {int(kind): kind for kind in MessageType}
_CODES = frozenset(int(code) for code in ReplyCode)
_FIXED = {
    MessageType.AUTH: _AUTH_FIXED,
    MessageType.REPLY: _REPLY_FIXED,
    MessageType.REKEY: _REKEY_FIXED,
}


class AuthMessage(NamedTuple):
    """The fields of an AUTH message (without its tag)."""

    suite: int
    flags: int
    epoch: int
    timestamp_us: int
    authenticator_nonce: bytes
    peer_nonce: bytes
    peer_name: str
    authenticator_name: str
    addresses: tuple[str, ...] = ()
    extensions: tuple[tuple[int, bytes], ...] = ()

    def body(self) -> bytes:
        """Return the encoded message up to (not including) the tag."""
        fixed = _AUTH_FIXED.pack(
            VERSION,
            MessageType.AUTH,
            self.suite,
            self.flags,
            self.epoch,
            self.timestamp_us,
            self.authenticator_nonce,
            self.peer_nonce,
        )
        return fixed + _tail(
            self.peer_name,
            self.authenticator_name,
            self.addresses,
            self.extensions,
        )


class ReplyMessage(NamedTuple):
    """The fields of a REPLY message (without its tag)."""

    suite: int
    flags: int
    code: int
    epoch: int
    peer_nonce: bytes
    new_nonce: bytes
    peer_name: str
    authenticator_name: str
    addresses: tuple[str, ...] = ()
    extensions: tuple[tuple[int, bytes], ...] = ()

    def body(self) -> bytes:
        """Return the encoded message up to (not including) the tag."""
        fixed = _REPLY_FIXED.pack(
            VERSION,
            MessageType.REPLY,
            self.suite,
            self.flags,
            self.code,
            _RESERVED,
            self.epoch,
            self.peer_nonce,
            self.new_nonce,
        )
        return fixed + _tail(
            self.peer_name,
            self.authenticator_name,
            self.addresses,
            self.extensions,
        )


class RekeyMessage(NamedTuple):
    """The fields of a REKEY message (without its tag)."""

    suite: int
    flags: int
    generation: int
    nonce: bytes
    peer_name: str
    authenticator_name: str
    extensions: tuple[tuple[int, bytes], ...] = ()

    def body(self) -> bytes:
        """Return the encoded message up to (not including) the tag."""
        fixed = _REKEY_FIXED.pack(
            VERSION,
            MessageType.REKEY,
            self.suite,
            self.flags,
            self.generation,
            self.nonce,
        )
        return fixed + _tail(
            self.peer_name, self.authenticator_name, (), self.extensions
        )


Message = AuthMessage | ReplyMessage | RekeyMessage


def tag(mac_key: bytes, body: bytes) -> bytes:
    """Return the HMAC-SHA-256 tag of ``body``."""
    return hmac.digest(mac_key, body, "sha256")


def encode(message: Message, mac_key: bytes) -> bytes:
    """Return ``message`` on the wire, tagged under ``mac_key``.

    :raises ValueError: if a field is out of range or too long.
    """
    try:
        body = message.body()
    except struct.error as exc:
        raise ValueError(f"field out of range: {exc}") from exc
    if len(body) + TAG_LEN > MAX_MESSAGE:
        raise ValueError("message too long")
    return body + tag(mac_key, body)


def tag_ok(data: bytes, mac_key: bytes) -> bool:
    """Tell, in constant time, whether the tag of ``data`` is right."""
    expected = hmac.digest(mac_key, data[:-TAG_LEN], "sha256")
    return hmac.compare_digest(expected, data[-TAG_LEN:])


def encode_addresses(addresses: Sequence[str]) -> bytes:
    """Return the value of an ADDRESSES extension.

    :raises ValueError: if an entry is not an IPv4 or IPv6 address.
    """
    if isinstance(addresses, str | bytes):
        raise TypeError("addresses must be a sequence of str")
    parts = []
    for text in addresses:
        address = ipaddress.ip_address(text)
        parts.append(bytes([address.version]) + address.packed)
    return b"".join(parts)


def _tail(
    peer: str,
    authenticator: str,
    addresses: Sequence[str],
    extensions: Sequence[tuple[int, bytes]],
) -> bytes:
    raw_peer = peer.encode("ascii")
    raw_auth = authenticator.encode("ascii")
    for raw in (raw_peer, raw_auth):
        if not is_canonical(raw):
            raise ValueError(f"not a canonical DNS name: {raw!r}")
    exts = list(extensions)
    if addresses:
        exts.insert(0, (EXT_ADDRESSES, encode_addresses(addresses)))
    if len(exts) > MAX_EXTENSIONS:
        raise ValueError("too many extensions")
    parts = [
        bytes([len(raw_peer)]),
        raw_peer,
        bytes([len(raw_auth)]),
        raw_auth,
        bytes([len(exts)]),
    ]
    for kind, value in exts:
        if len(value) > MAX_EXTENSION_VALUE:
            raise ValueError("extension value too long")
        parts.append(_EXT_HEAD.pack(kind, len(value)))
        parts.append(value)
    return b"".join(parts)


def message_type(data: bytes) -> MessageType:
    """Return the type of ``data`` after checking length and version.

    :raises AuthFailure: if ``data`` cannot be a message.
    """
    if (
        not isinstance(data, bytes)
        or len(data) > MAX_MESSAGE
        or len(data) < 4 + TAG_LEN
        or data[0] != VERSION
    ):
        raise AuthFailure()
    kind = _TYPES.get(data[1])
    if kind is None:
        raise AuthFailure()
    return kind


def _names(data: bytes, pos: int, end: int) -> tuple[str, str, int]:
    """Read the two names at ``pos``; return them and the next offset."""
    if pos >= end:
        raise AuthFailure()
    first = pos + 1 + data[pos]
    if first >= end:
        raise AuthFailure()
    second = first + 1 + data[first]
    if second > end:
        raise AuthFailure()
    peer = data[pos + 1 : first]
    auth = data[first + 1 : second]
    if not (is_canonical(peer) and is_canonical(auth)):
        raise AuthFailure()
    return peer.decode("ascii"), auth.decode("ascii"), second


def _extensions(
    data: bytes, pos: int, end: int
) -> tuple[tuple[str, ...], tuple[tuple[int, bytes], ...]]:
    """Read the extensions from ``pos``, which must end at ``end``."""
    if pos >= end:
        raise AuthFailure()
    count = data[pos]
    pos += 1
    if count == 0 and pos == end:
        return (), ()
    if count > MAX_EXTENSIONS:
        raise AuthFailure()
    addresses: tuple[str, ...] | None = None
    others = []
    for _ in range(count):
        if pos + _EXT_HEAD.size > end:
            raise AuthFailure()
        kind, size = _EXT_HEAD.unpack_from(data, pos)
        pos += _EXT_HEAD.size
        value = data[pos : pos + size]
        pos += size
        if pos > end or size > MAX_EXTENSION_VALUE:
            raise AuthFailure()
        if kind != EXT_ADDRESSES:
            others.append((kind, value))
        elif addresses is None:
            addresses = decode_addresses(value)
        else:
            raise AuthFailure()
    if pos != end:
        raise AuthFailure()
    return addresses or (), tuple(others)


def decode_addresses(value: bytes) -> tuple[str, ...]:
    """Return the addresses in an ADDRESSES extension value.

    :raises AuthFailure: if the value is malformed.
    """
    found = []
    pos, end = 0, len(value)
    while pos < end:
        family = value[pos]
        if family == 4:
            raw, af = value[pos + 1 : pos + 5], socket.AF_INET
        elif family == 6:
            raw, af = value[pos + 1 : pos + 17], socket.AF_INET6
        else:
            raise AuthFailure()
        size = 4 if family == 4 else 16
        if len(raw) != size:
            raise AuthFailure()
        found.append(socket.inet_ntop(af, raw))
        pos += 1 + size
    return tuple(found)


def decode_auth(data: bytes) -> AuthMessage:
    """Return the fields of an AUTH message (the tag is not checked).

    :raises AuthFailure: if ``data`` is not a well-formed AUTH.
    """
    # The hot path of every authenticator: checks inlined.
    if (
        type(data) is not bytes
        or not _AUTH_MIN <= len(data) <= MAX_MESSAGE
        or data[0] != VERSION
        or data[1] != MessageType.AUTH
        or data[3] & ~FLAG_REROUTE
    ):
        raise AuthFailure()
    end = len(data) - TAG_LEN
    _, _, suite, flags, epoch, stamp, a_nonce, p_nonce = _unpack_auth(data)
    peer, auth, pos = _names(data, _AUTH_FIXED.size, end)
    addresses, others = _extensions(data, pos, end)
    return _new_auth(
        AuthMessage,
        (
            suite,
            flags,
            epoch,
            stamp,
            a_nonce,
            p_nonce,
            peer,
            auth,
            addresses,
            others,
        ),
    )


def decode_reply(data: bytes) -> ReplyMessage:
    """Return the fields of a REPLY message (the tag is not checked).

    :raises AuthFailure: if ``data`` is not a well-formed REPLY.
    """
    if message_type(data) is not MessageType.REPLY:
        raise AuthFailure()
    end = len(data) - TAG_LEN
    if end < _REPLY_FIXED.size:
        raise AuthFailure()
    _, _, suite, flags, code, reserved, epoch, p_nonce, new_nonce = (
        _REPLY_FIXED.unpack_from(data)
    )
    if flags & ~FLAG_NEW_NONCE or reserved != _RESERVED:
        raise AuthFailure()
    if code not in _CODES:
        raise AuthFailure()
    if not flags & FLAG_NEW_NONCE and new_nonce != _ZERO_NONCE:
        raise AuthFailure()
    peer, auth, pos = _names(data, _REPLY_FIXED.size, end)
    addresses, others = _extensions(data, pos, end)
    return ReplyMessage(
        suite,
        flags,
        code,
        epoch,
        p_nonce,
        new_nonce,
        peer,
        auth,
        addresses,
        others,
    )


def decode_rekey(data: bytes) -> RekeyMessage:
    """Return the fields of a REKEY message (the tag is not checked).

    :raises AuthFailure: if ``data`` is not a well-formed REKEY.
    """
    if message_type(data) is not MessageType.REKEY:
        raise AuthFailure()
    end = len(data) - TAG_LEN
    if end < _REKEY_FIXED.size:
        raise AuthFailure()
    _, _, suite, flags, generation, nonce = _REKEY_FIXED.unpack_from(data)
    if flags & ~FLAG_FROM_AUTHENTICATOR:
        raise AuthFailure()
    peer, auth, pos = _names(data, _REKEY_FIXED.size, end)
    addresses, others = _extensions(data, pos, end)
    if addresses:
        raise AuthFailure()
    return RekeyMessage(suite, flags, generation, nonce, peer, auth, others)


def peek_names(data: bytes) -> tuple[str, str]:
    """Return the claimed (peer name, authenticator name), unverified.

    :raises AuthFailure: if ``data`` is not a well-formed message.
    """
    fixed = _FIXED[message_type(data)]
    end = len(data) - TAG_LEN
    if end < fixed.size:
        raise AuthFailure()
    peer, auth, _ = _names(data, fixed.size, end)
    return peer, auth


def encode_auth(message: AuthMessage, mac_key: bytes) -> bytes:
    """Return an AUTH message on the wire, tagged under ``mac_key``."""
    return encode(message, mac_key)
