"""The message codec: round trips, limits and malformed input."""

from __future__ import annotations

import pytest

from flatmob_mn.auth import (
    AuthFailure,
    AuthMessage,
    MessageType,
    RekeyMessage,
    ReplyMessage,
    decode_auth,
    decode_rekey,
    decode_reply,
    encode,
    peek_names,
)
from flatmob_mn.auth.wire import (
    MAX_EXTENSION_VALUE,
    MAX_EXTENSIONS,
    TAG_LEN,
    message_type,
    tag,
)

from .conftest import AR, MN

KEY = b"k" * 32
AUTH = AuthMessage(
    suite=1,
    flags=1,
    epoch=3,
    timestamp_us=1_700_000_000_123_456,
    authenticator_nonce=b"A" * 16,
    peer_nonce=b"P" * 16,
    peer_name=MN,
    authenticator_name=AR,
    addresses=("192.0.2.7", "2001:db8::7"),
    extensions=((200, b"opaque"),),
)
REPLY = ReplyMessage(1, 1, 0, 4, b"P" * 16, b"N" * 16, MN, AR, ("192.0.2.7",))
REKEY = RekeyMessage(2, 1, 5, b"R" * 16, MN, AR)


def test_auth_layout_is_exact():
    data = encode(AUTH, KEY)
    body = (
        b"\x01\x01\x01\x01"
        + (3).to_bytes(4, "big")
        + (1_700_000_000_123_456).to_bytes(8, "big")
        + b"A" * 16
        + b"P" * 16
        + bytes([len(MN)])
        + MN.encode()
        + bytes([len(AR)])
        + AR.encode()
        + b"\x02"
        + b"\x01\x00\x16"
        + b"\x04"
        + bytes([192, 0, 2, 7])
        + b"\x06"
        + bytes.fromhex("20010db8000000000000000000000007")
        + b"\xc8\x00\x06opaque"
    )
    assert data == body + tag(KEY, body)


@pytest.mark.parametrize(
    ("message", "decode"),
    [(AUTH, decode_auth), (REPLY, decode_reply), (REKEY, decode_rekey)],
    ids=["auth", "reply", "rekey"],
)
def test_round_trip(message, decode):
    data = encode(message, KEY)
    assert decode(data) == message
    assert peek_names(data) == (MN, AR)
    assert data[-TAG_LEN:] == tag(KEY, data[:-TAG_LEN])


def test_each_decoder_takes_only_its_type():
    data = encode(AUTH, KEY)
    assert message_type(data) is MessageType.AUTH
    with pytest.raises(AuthFailure):
        decode_reply(data)
    with pytest.raises(AuthFailure):
        decode_rekey(data)
    with pytest.raises(AuthFailure):
        decode_auth(encode(REPLY, KEY))


def test_every_truncation_and_extension_fails():
    data = encode(AUTH, KEY)
    for size in range(len(data)):
        with pytest.raises(AuthFailure):
            decode_auth(data[:size][:-TAG_LEN] + data[-TAG_LEN:])
    for extra in (b"\x00", b"\x00" * 100):
        with pytest.raises(AuthFailure):
            decode_auth(data[:-TAG_LEN] + extra + data[-TAG_LEN:])
    with pytest.raises(AuthFailure):
        decode_auth(data + bytes(4096))


@pytest.mark.parametrize(
    ("offset", "value"),
    [
        (0, 2),  # version
        (1, 9),  # type
        (3, 0x03),  # unknown flag
        (48, 0),  # empty peer name
        (48, 200),  # peer name runs past the end
        (49, ord("M")),  # upper case name
        (49, ord(".")),  # empty label
    ],
)
def test_malformed_fields_fail(offset, value):
    data = bytearray(encode(AUTH, KEY))
    data[offset] = value
    with pytest.raises(AuthFailure):
        decode_auth(bytes(data))


def test_reply_reserved_and_code_are_checked():
    data = bytearray(encode(REPLY, KEY))
    for offset, value in ((5, 1), (4, 77)):
        bad = bytearray(data)
        bad[offset] = value
        with pytest.raises(AuthFailure):
            decode_reply(bytes(bad))
    no_flag = REPLY._replace(flags=0)
    with pytest.raises(AuthFailure):  # a new nonce without NEW_NONCE
        decode_reply(encode(no_flag, KEY))


def test_duplicate_or_bad_addresses_fail():
    two = AUTH._replace(
        addresses=("192.0.2.1",), extensions=((1, b"\x04\x01\x02\x03\x04"),)
    )
    with pytest.raises(AuthFailure):
        decode_auth(encode(two, KEY))
    for value in (b"\x05abcd", b"\x04abc", b"\x06" + bytes(15)):
        bad = AUTH._replace(addresses=(), extensions=((1, value),))
        with pytest.raises(AuthFailure):
            decode_auth(encode(bad, KEY))
    with pytest.raises(AuthFailure):  # REKEY carries no addresses
        decode_rekey(
            encode(REKEY._replace(extensions=((1, b"\x04abcd"),)), KEY)
        )


def test_limits_on_encode():
    with pytest.raises(ValueError):
        encode(AUTH._replace(peer_name="a" * 64), KEY)
    with pytest.raises(ValueError):
        encode(AUTH._replace(peer_name="Upper.example"), KEY)
    with pytest.raises(ValueError):
        encode(AUTH._replace(extensions=((9, b""),) * MAX_EXTENSIONS), KEY)
    with pytest.raises(ValueError):
        big = ((9, b"x" * (MAX_EXTENSION_VALUE + 1)),)
        encode(AUTH._replace(extensions=big), KEY)
    with pytest.raises(ValueError):
        encode(AUTH._replace(addresses=("not an address",)), KEY)
    with pytest.raises(ValueError):
        encode(AUTH._replace(epoch=2**32), KEY)
    with pytest.raises(ValueError):  # over MAX_MESSAGE in all
        many = ((9, b"x" * MAX_EXTENSION_VALUE),) * 4
        encode(AUTH._replace(extensions=many), KEY)


def test_long_names_at_the_limit():
    label = "a" * 63
    name = ".".join([label] * 3) + "." + "b" * 61  # 253 octets
    assert len(name) == 253
    message = AUTH._replace(peer_name=name)
    assert decode_auth(encode(message, KEY)).peer_name == name
    with pytest.raises(ValueError):
        encode(AUTH._replace(peer_name=name + "b"), KEY)


@pytest.mark.parametrize("junk", [b"", b"\x01", "text", None, bytes(36)])
def test_junk_fails(junk):
    with pytest.raises(AuthFailure):
        decode_auth(junk)
    with pytest.raises(AuthFailure):
        peek_names(junk)
