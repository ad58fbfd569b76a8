"""Address plan: sizes, alignment, aggregates and rejected plans."""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Address, IPv4Network

import pytest

from flatmob_mn.errors import AddressPlanError
from flatmob_mn.topology.addressing import make_plan
from flatmob_mn.topology.layout import make_layout
from flatmob_mn.topology.spec import Addressing, TopologySpec, default_spec


def _plan(spec=None, **addressing):
    spec = spec or default_spec()
    return make_plan(
        dataclasses.replace(spec.addressing, **addressing), make_layout(spec)
    )


def test_pools_are_byte_aligned_and_inside_their_cluster():
    plan = _plan()
    assert plan.pool("ar1") == IPv4Network("10.64.0.0/24")
    assert plan.pool("ar5") == IPv4Network("10.64.4.0/24")
    assert plan.cluster("agg2") == IPv4Network("10.64.4.0/22")
    for cluster in plan.clusters.values():
        assert cluster.subnet_of(plan.mn_block)
    lay = make_layout(default_spec())
    for ar, pool in plan.pools.items():
        assert pool.prefixlen % 8 == 0
        assert pool.subnet_of(plan.cluster(lay.agg_of(ar)))


def test_cluster_is_smallest_power_of_two_block():
    spec = dataclasses.replace(default_spec(), ars_per_agg=3)
    plan = _plan(spec)
    assert plan.cluster("agg1").prefixlen == 22
    spec = dataclasses.replace(default_spec(), ars_per_agg=5)
    plan = _plan(spec)
    assert plan.cluster("agg1").prefixlen == 21
    assert plan.cluster("agg2") == IPv4Network("10.64.8.0/21")


def test_clusters_and_pools_do_not_overlap():
    plan = _plan(dataclasses.replace(default_spec(), aggs=16))
    nets = list(plan.clusters.values())
    assert all(
        not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :]
    )
    pools = list(plan.pools.values())
    assert len(set(pools)) == len(pools) == 64


def test_gateway_is_first_pool_address():
    plan = _plan()
    assert str(plan.gateway("ar2")) == "10.64.1.1/24"


def test_loopbacks_links_and_services():
    plan = _plan()
    assert plan.loopback("core1") == IPv4Address("10.255.0.1")
    assert len(set(plan.loopbacks.values())) == len(plan.loopbacks)
    assert "bdr1" in plan.loopbacks
    link = plan.link("core1", "core2")
    assert link.net.prefixlen == 31
    assert {link.a.ip, link.b.ip} == set(link.net)
    assert plan.dns_address == IPv4Address("10.253.0.2")
    assert plan.dns_link.a.ip == IPv4Address("10.253.0.1")
    assert plan.border_address == IPv4Address("10.253.0.6")
    assert plan.cn_address == IPv4Address("10.200.0.2")
    assert not plan.correspondent.overlaps(plan.mn_block)


def test_slash_30_links():
    plan = _plan(link_prefix=30)
    link = plan.link("core1", "core2")
    assert str(link.a) == "10.254.0.1/30" and str(link.b) == "10.254.0.2/30"


def test_cluster_of():
    plan = _plan()
    assert plan.cluster_of(IPv4Address("10.64.5.9")) == "agg2"
    assert plan.cluster_of(IPv4Address("10.65.0.1")) is None


def test_non_byte_aligned_pool_rejected():
    with pytest.raises(AddressPlanError, match="/20 must be a multiple of 8"):
        _plan(pool_prefix=20)


def test_pools_that_do_not_fit_rejected():
    spec = dataclasses.replace(default_spec(), aggs=80)
    with pytest.raises(AddressPlanError, match="MN block 10.64.0.0/16"):
        _plan(spec)
    with pytest.raises(AddressPlanError, match="holds 4"):
        _plan(mn_block="10.64.0.0/22")


def test_overlap_rejected_naming_both_blocks():
    with pytest.raises(AddressPlanError) as info:
        _plan(loopbacks="10.64.200.0/24")
    assert "mn_block block 10.64.0.0/16 overlaps loopbacks" in str(info.value)


def test_anycast_range_reserved():
    with pytest.raises(AddressPlanError, match="anycast gateway"):
        _plan(services="169.254.9.0/24")


def test_not_a_network_rejected():
    with pytest.raises(AddressPlanError, match="links block '10.254.0.1/16'"):
        _plan(links="10.254.0.1/16")


def test_small_blocks_rejected():
    with pytest.raises(AddressPlanError, match="loopback block"):
        _plan(loopbacks="10.255.0.0/28")
    with pytest.raises(AddressPlanError, match="link block"):
        _plan(links="10.254.0.0/28")
    with pytest.raises(AddressPlanError, match="services block"):
        _plan(services="10.253.0.0/30")
    with pytest.raises(AddressPlanError, match="link prefix /29"):
        _plan(link_prefix=29)


def test_spec_addressing_default():
    assert TopologySpec().addressing == Addressing()
