"""Record encodings: TLSA, nonce TXT, address order, reverse names."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import dns.rdata
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flatmob_mn.naming import records
from flatmob_mn.naming.errors import RecordFormatError

VECTORS = json.loads(
    (Path(__file__).parents[2] / "vectors/naming/records.json").read_text()
)


@pytest.mark.parametrize("vector", VECTORS["tlsa"])
def test_tlsa_from_spki(vector: dict) -> None:
    spki = bytes.fromhex(vector["spki"])
    rdata = records.tlsa_rdata(spki)
    parsed = dns.rdata.from_text("IN", "TLSA", vector["text"])
    assert rdata == parsed
    assert rdata.to_wire() == b"\x03\x01\x00" + spki
    assert records.tlsa_owner(vector["owner_of"]) == vector["owner"]
    assert records.spki_from_tlsa(parsed, vector["owner"]) == spki


def test_tlsa_other_parameters_refused() -> None:
    rdata = dns.rdata.from_text("IN", "TLSA", "3 1 1 " + "ab" * 32)
    with pytest.raises(RecordFormatError, match="x.test.*not 3 1 0"):
        records.spki_from_tlsa(rdata, "x.test.")


@pytest.mark.parametrize("vector", VECTORS["nonce"])
def test_nonce_format_and_parse(vector: dict) -> None:
    nonce = bytes.fromhex(vector["nonce"])
    assert records.format_nonce(vector["epoch"], nonce) == vector["text"]
    assert records.parse_nonce(vector["text"]) == (vector["epoch"], nonce)


@pytest.mark.parametrize("text", VECTORS["bad_nonce"])
def test_bad_nonce_refused(text: str) -> None:
    with pytest.raises(RecordFormatError):
        records.parse_nonce(text)


@given(st.integers(0, 2**63), st.binary(min_size=1, max_size=64))
def test_nonce_round_trip(epoch: int, nonce: bytes) -> None:
    text = records.format_nonce(epoch, nonce)
    assert records.parse_nonce(text) == (epoch, nonce)
    assert len(records.txt_rdata(text).strings) == 1


@pytest.mark.parametrize("vector", VECTORS["reverse_name"])
def test_reverse_name(vector: dict) -> None:
    assert records.reverse_name(vector["address"]) == vector["name"]
    assert records.address_from_reverse(vector["name"]) == vector["address"]


@pytest.mark.parametrize("vector", VECTORS["reverse_zone"])
def test_reverse_zone(vector: dict) -> None:
    pool = ipaddress.IPv4Network(vector["pool"])
    assert records.reverse_zone(pool) == vector["zone"]


@pytest.mark.parametrize("pool", VECTORS["bad_pool"])
def test_unaligned_pool_refused(pool: str) -> None:
    with pytest.raises(RecordFormatError, match="byte-aligned"):
        records.reverse_zone(ipaddress.IPv4Network(pool))


def test_order_round_trip() -> None:
    addresses = ["10.64.4.9", "2001:db8::5", "10.64.3.7"]
    text = records.format_order(addresses)
    assert text == "v=1 order=10.64.4.9 2001:db8::5 10.64.3.7"
    assert records.parse_order(text) == addresses
    assert records.parse_order("v=1 epoch=1 nonce=AA==") is None


def test_order_puts_unlisted_last() -> None:
    found = ["10.0.0.3", "2001:db8::1", "10.0.0.1", "10.0.0.2"]
    order = ["10.0.0.2", "10.9.9.9"]
    assert records.order_addresses(found, order) == [
        "10.0.0.2",
        "10.0.0.1",
        "10.0.0.3",
        "2001:db8::1",
    ]


def test_long_txt_is_split() -> None:
    addresses = [f"10.64.{i}.{j}" for i in range(3) for j in range(20)]
    rdata = records.txt_rdata(records.format_order(addresses))
    assert len(rdata.strings) > 1
    assert records.parse_order(records.txt_text(rdata)) == addresses


def test_entity_names() -> None:
    assert records.entity_name("ar", 3) == "ar3.isp.flatmob.test."
    assert records.entity_name("mn", 12) == "mn12.mn.flatmob.test."
    assert records.entity_name("ha", 1, isp_zone="net.example") == (
        "ha1.net.example."
    )
    with pytest.raises(RecordFormatError):
        records.entity_name("xx", 1)
