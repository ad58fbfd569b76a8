import pytest

from flatmob_mn.agents import access
from flatmob_mn.errors import AgentError


def test_advert_round_trip():
    advert = access.Advert("ar3.isp.flatmob.test.", 7, bytes(range(16)))
    data = advert.to_bytes()
    assert access.kind_of(data) is access.Kind.ADVERT
    assert access.Advert.from_bytes(data) == advert


@pytest.mark.parametrize("cut", [1, 2, 5, 10, 20, 27])
def test_truncated_advert_is_refused(cut):
    data = access.Advert("ar1.isp.flatmob.test.", 1, b"n" * 16).to_bytes()
    with pytest.raises(AgentError, match="malformed advert"):
        access.Advert.from_bytes(data[:cut])


def test_trailing_bytes_are_refused():
    data = access.Advert("ar1.isp.flatmob.test.", 1, b"n" * 16).to_bytes()
    with pytest.raises(AgentError):
        access.Advert.from_bytes(data + b"x")


def test_unknown_kinds():
    assert access.kind_of(b"") is None
    assert access.kind_of(b"\x09abc") is None
    assert access.frame(access.Kind.AUTH, b"xy") == b"\x03xy"
