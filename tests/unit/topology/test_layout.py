"""Layout: names, clusters, uplinks and AR-to-AR links."""

from __future__ import annotations

import dataclasses

from flatmob_mn.topology.layout import make_layout
from flatmob_mn.topology.spec import TopologySpec, default_spec


def _uplinks(layout, agg):
    return {
        link.a
        for link in layout.links
        if link.b == agg and link.kind == "uplink"
    }


def test_default_names_and_clusters():
    lay = make_layout(default_spec())
    assert lay.cores == ("core1", "core2")
    assert lay.aggs == ("agg1", "agg2", "agg3", "agg4")
    assert lay.clusters["agg2"] == ("ar5", "ar6", "ar7", "ar8")
    assert lay.agg_of("ar8") == "agg2"


def test_dual_homing_uplinks_every_core():
    lay = make_layout(default_spec())
    assert all(_uplinks(lay, a) == {"core1", "core2"} for a in lay.aggs)


def test_single_homing_spreads_aggs_over_cores():
    spec = dataclasses.replace(default_spec(), homing="single")
    lay = make_layout(spec)
    assert [_uplinks(lay, a) for a in lay.aggs] == [
        {"core1"},
        {"core2"},
        {"core1"},
        {"core2"},
    ]


def test_cores_in_full_mesh():
    spec = dataclasses.replace(default_spec(), cores=3)
    lay = make_layout(spec)
    mesh = {(ln.a, ln.b) for ln in lay.links if ln.kind == "core"}
    assert mesh == {("core1", "core2"), ("core1", "core3"), ("core2", "core3")}


def test_generated_peer_links_cross_cluster_borders():
    lay = make_layout(default_spec())
    peers = [(ln.a, ln.b) for ln in lay.links if ln.kind == "peer"]
    assert len(peers) == 3
    for a, b in peers:
        assert lay.agg_of(a) != lay.agg_of(b)


def test_explicit_peer_links_come_first_without_duplicates():
    spec = TopologySpec(ar_peer_links=(("ar4", "ar5"),), ar_peer_count=2)
    lay = make_layout(spec)
    peers = [(ln.a, ln.b) for ln in lay.links if ln.kind == "peer"]
    # ar4-ar5 is also the first generated pair: kept once, and the count
    # asks for two more generated pairs.
    assert peers == [("ar4", "ar5"), ("ar8", "ar9"), ("ar12", "ar13")]


def test_mobile_nodes_round_robin_over_ars():
    spec = dataclasses.replace(default_spec(), mobile_nodes=18)
    lay = make_layout(spec)
    assert lay.homes["mn1"] == "ar1"
    assert lay.homes["mn16"] == "ar16"
    assert lay.homes["mn17"] == "ar1"
