import pytest

from flatmob_mn.agents.ar import LocalPrefClock
from flatmob_mn.errors import FlatmobError


def test_milliseconds_since_the_epoch():
    now = [1000.0]
    clock = LocalPrefClock(epoch=990.0, clock=lambda: now[0])
    assert clock.next() == 10_000
    now[0] = 1000.25
    assert clock.next() == 10_250


def test_strictly_increasing_within_one_millisecond():
    clock = LocalPrefClock(epoch=0.0, clock=lambda: 5.0)
    values = [clock.next() for _ in range(5)]
    assert values == [5000, 5001, 5002, 5003, 5004]


def test_two_moves_under_a_second_apart_are_ordered():
    now = [100.0]
    first = LocalPrefClock(epoch=0.0, clock=lambda: now[0])
    second = LocalPrefClock(epoch=0.0, clock=lambda: now[0])
    a = first.next()
    now[0] += 0.003
    assert second.next() > a


def test_past_32_bits_is_an_error():
    clock = LocalPrefClock(epoch=0.0, clock=lambda: 2**32 / 1000 + 1)
    with pytest.raises(FlatmobError, match="32 bits"):
        clock.next()
