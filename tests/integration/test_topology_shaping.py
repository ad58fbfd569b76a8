"""Link emulation: bandwidth with tbf, delay reported when netem lacks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from flatmob_mn.topology.network import Network
from flatmob_mn.topology.spec import load_spec

pytestmark = pytest.mark.root

TINY = Path(__file__).parents[2] / "topologies" / "tiny.toml"


def test_bandwidth_shaped_and_missing_delay_reported():
    spec = dataclasses.replace(
        load_spec(TINY), delay_ms=5.0, bandwidth_mbit=50.0
    )
    with Network(spec) as net:
        has_netem = not net.emulation_notes
        qdisc = net.routers["core1"].node.cmd("tc qdisc show dev core1-eth0")
        ar1 = net.routers["ar1"].node.cmd("tc qdisc show dev ar1-eth0")
    if has_netem:
        assert "netem" in qdisc and "delay 5ms" in qdisc
    else:
        assert net.emulation_notes == [
            "link delay not emulated: netem missing (asked 5.0 ms)"
        ]
        assert "tbf" in qdisc and "rate 50Mbit" in qdisc
    assert "50Mbit" in ar1
