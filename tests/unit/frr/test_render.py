"""Rendered FRR configuration of each router role (tiny topology)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flatmob_mn.frr.model import render, render_all
from flatmob_mn.topology.addressing import make_plan
from flatmob_mn.topology.frrconf import interfaces, router_configs
from flatmob_mn.topology.layout import make_layout
from flatmob_mn.topology.spec import load_spec

TINY = Path(__file__).parents[3] / "topologies" / "tiny.toml"

# tiny: core1; agg1 (ar1, ar2), agg2 (ar3, ar4); peer link ar2-ar3.
# Loopbacks: core1 .1, agg1 .2, agg2 .3, ar1 .4 ... ar4 .7, bdr1 .8


@pytest.fixture(scope="module")
def configs():
    spec = load_spec(TINY)
    layout = make_layout(spec)
    plan = make_plan(spec.addressing, layout)
    names = [*layout.routers(), "bdr1"]
    return router_configs(
        spec, layout, plan, {n: Path(f"/r/{n}") for n in names}
    )


def lines(configs, router, daemon):
    return render(configs[router], daemon).splitlines()


def test_agg_is_reflector_with_own_cluster_id(configs):
    bgp = lines(configs, "agg1", "bgpd")
    assert " bgp cluster-id 10.255.0.2" in bgp
    assert "  neighbor AR route-reflector-client" in bgp
    assert " neighbor 10.255.0.4 peer-group AR" in bgp
    assert " neighbor 10.255.0.5 peer-group AR" in bgp
    assert " neighbor 10.255.0.1 peer-group CORE" in bgp
    assert "  neighbor CORE route-reflector-client" not in bgp


def test_agg_aggregate_without_summary_only_and_outbound_filter(configs):
    bgp = lines(configs, "agg2", "bgpd")
    assert "  aggregate-address 10.64.2.0/23" in bgp
    assert not any("summary-only" in line for line in bgp)
    assert "ip prefix-list TO-CORE seq 5 permit 10.64.2.0/23" in bgp
    assert "ip prefix-list TO-CORE seq 10 deny 10.64.2.0/23 le 32" in bgp
    assert "ip prefix-list TO-CORE seq 15 permit 0.0.0.0/0 le 32" in bgp
    assert "  neighbor CORE prefix-list TO-CORE out" in bgp
    assert "  neighbor AR prefix-list TO-CORE out" not in bgp


def test_ibgp_between_loopbacks_with_fast_timers(configs):
    for router in ("core1", "agg1", "ar1"):
        bgp = lines(configs, router, "bgpd")
        groups = [
            line.split()[1] for line in bgp if line.endswith(" peer-group")
        ]
        for group in groups:
            if group == "BORDER":
                continue
            assert f" neighbor {group} remote-as 65000" in bgp
            assert f" neighbor {group} update-source lo" in bgp
            assert f" neighbor {group} timers 3 9" in bgp
            assert f" neighbor {group} timers connect 1" in bgp
            assert f"  neighbor {group} activate" in bgp
        assert " no bgp network import-check" in bgp
        assert " no bgp default ipv4-unicast" in bgp


def test_ar_originates_its_pool_and_peers_only_with_its_agg(configs):
    bgp = lines(configs, "ar3", "bgpd")
    assert "router bgp 65000" in bgp
    assert "  network 10.64.2.0/24" in bgp
    neighbors = [ln for ln in bgp if ln.startswith(" neighbor 10.")]
    assert neighbors == [" neighbor 10.255.0.3 peer-group AGG"]
    assert not any("cluster-id" in line for line in bgp)


def test_ar_peer_link_runs_ospf_only(configs):
    ifs = interfaces(make_layout(load_spec(TINY)))
    ar2_if, ar3_if = ifs[("ar2", "ar3")]
    assert f"interface {ar2_if}" in lines(configs, "ar2", "ospfd")
    assert f"interface {ar3_if}" in lines(configs, "ar3", "ospfd")
    bgp = lines(configs, "ar2", "bgpd")
    assert " neighbor 10.255.0.6 peer-group AGG" not in bgp


def test_core_reflects_to_aggs_and_talks_ebgp_to_border(configs):
    bgp = lines(configs, "core1", "bgpd")
    assert "  neighbor AGG route-reflector-client" in bgp
    assert " neighbor 10.255.0.2 peer-group AGG" in bgp
    assert " neighbor BORDER remote-as 65001" in bgp
    assert " neighbor 10.253.0.6 peer-group BORDER" in bgp
    assert " neighbor BORDER update-source lo" not in bgp
    assert "  neighbor AGG next-hop-self" in bgp
    assert "  neighbor BORDER prefix-list TO-BORDER out" in bgp
    assert "ip prefix-list TO-BORDER seq 5 permit 10.64.0.0/16" in bgp
    assert "ip prefix-list TO-BORDER seq 10 permit 10.253.0.0/24" in bgp
    assert "ip prefix-list IBGP-OUT seq 5 deny 10.64.0.0/16" in bgp
    assert "  neighbor AGG prefix-list IBGP-OUT out" in bgp


def test_border_router(configs):
    files = render_all(configs["bdr1"])
    assert set(files) == {"zebra", "bgpd"}
    bgp = files["bgpd"].splitlines()
    assert "router bgp 65001" in bgp
    assert " neighbor CORE remote-as 65000" in bgp
    assert " neighbor 10.253.0.5 peer-group CORE" in bgp
    assert "  network 10.200.0.0/24" in bgp


def test_ospf_timers_point_to_point_and_passive(configs):
    ospf = render(configs["core1"], "ospfd")
    blocks = {
        b.splitlines()[0]: b
        for b in ospf.split("!\n")
        if b.startswith("interface")
    }
    link = blocks["interface core1-eth0"]
    assert " ip ospf area 0" in link
    assert " ip ospf network point-to-point" in link
    assert " ip ospf hello-interval 1" in link
    assert " ip ospf dead-interval 4" in link
    dns = blocks["interface core1-eth2"]  # the link to ns1
    assert " ip ospf area 0" in dns and "hello-interval" not in dns
    assert " passive-interface lo" in ospf
    assert " passive-interface core1-eth2" in ospf
    assert " ospf router-id 10.255.0.1" in ospf
    assert " timers throttle spf 0 50 1000" in ospf


def test_zebra_and_logs_in_router_folder(configs):
    zebra = lines(configs, "ar1", "zebra")
    assert "zebra work-queue 0" in zebra
    assert "log file /r/ar1/zebra.log" in zebra
    assert "log file /r/ar1/bgpd.log" in lines(configs, "ar1", "bgpd")
