"""Agents whose private keys live in key store processes of their own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flatmob_mn.agents.deploy import Mobility
from flatmob_mn.topology.network import Network
from flatmob_mn.topology.spec import load_spec

pytestmark = pytest.mark.root

TINY = Path(__file__).parents[2] / "topologies" / "tiny.toml"


def test_attach_and_move_through_key_store_processes():
    with Network(load_spec(TINY)) as net:
        mob = Mobility(net, keystore_processes=True)
        try:
            mob.start()
            for node in [*net.ars, *net.mns]:
                cfg = json.loads((mob.dirs[node] / "agent.json").read_text())
                assert cfg["keystore_socket"].endswith("keystore.sock")
                assert mob.keystores[node].poll() is None
            mob.move("mn1", "ar3")
            assert mob.wait_invariant(10) == []
            assert mob.status("mn1")["ar"].startswith("ar3.")
        finally:
            mob.stop()
        assert not mob.keystores
