"""The tiny topology on real FRR: routing, host routes and mobility.

One network is built for the whole module.  Tiny: core1; agg1 serves
ar1 and ar2 (10.64.0.0/23), agg2 serves ar3 and ar4 (10.64.2.0/23); a
peer link joins ar2 and ar3; mn1 starts on ar1, mn2 on ar2.
"""

from __future__ import annotations

import os
import subprocess
import sys
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from flatmob_mn.errors import FrrError
from flatmob_mn.runstate import process_start
from flatmob_mn.topology import check, fib
from flatmob_mn.topology.network import Network
from flatmob_mn.topology.spec import load_spec

pytestmark = pytest.mark.root

TINY = Path(__file__).parents[2] / "topologies" / "tiny.toml"
ALL = {"core1", "agg1", "agg2", "ar1", "ar2", "ar3", "ar4"}


@pytest.fixture(scope="module")
def net():
    network = Network(load_spec(TINY))
    with network:
        run = network.run
        pids = [
            p.pid for r in network.routers.values() for p in r.procs.values()
        ]
        yield network
    assert not run.path.exists()
    assert all(process_start(pid) is None for pid in pids)


def _ping(node, src, dst, count=1):
    out = node.cmd(f"ping -n -q -c {count} -W 2 -I {src} {dst}")
    return f"{count} received" in out


def test_names_roles_and_plan(net):
    assert net.cores == ["core1"]
    assert net.aggs == ["agg1", "agg2"]
    assert net.ars == ["ar1", "ar2", "ar3", "ar4"]
    assert {r.role for r in net.routers.values()} == {
        "core",
        "agg",
        "ar",
        "border",
    }
    assert net.routers["ar3"].agg == "agg2"
    assert set(net.mns) == {"mn1", "mn2"}
    assert set(net.hosts) == {"ns1", "cn1"}
    assert net.plan.cluster("agg2") == IPv4Network("10.64.2.0/23")
    assert net.emulation_notes == []


def test_aggregates_and_reflection_scope(net):
    plan = net.plan
    tables = fib.fibs(net, net.layout.routers())
    pools = set(plan.pools.values())
    assert set(plan.clusters.values()) <= tables["core1"]
    assert not pools & tables["core1"]
    # ARs: their cluster's pools, the other cluster only as an aggregate.
    assert plan.pool("ar2") in tables["ar1"]
    assert plan.pool("ar3") not in tables["ar1"]
    assert plan.cluster("agg2") in tables["ar1"]
    assert plan.pool("ar3") in tables["agg2"]
    assert plan.pool("ar3") not in tables["agg1"]
    assert check.check_tables(net) == []


def test_check_tables_reports_extra_pool_on_core(net):
    core = net.routers["core1"].node
    pool = net.plan.pool("ar1")
    core.cmd(f"ip route add blackhole {pool}")
    try:
        failures = check.check_tables(net)
    finally:
        core.cmd(f"ip route del blackhole {pool}")
    assert failures == [f"core1: holds pool {pool}"]


def test_ar_to_ar_ping(net):
    assert check.check_pings(net) == []


def test_services_reachable(net):
    for name, router in net.routers.items():
        if name == "bdr1":
            continue
        src = net.plan.loopback(name)
        assert _ping(router.node, src, net.plan.dns_address), name
    ar4 = net.routers["ar4"].node
    assert _ping(ar4, net.plan.gateway("ar4").ip, net.plan.cn_address)


@pytest.mark.parametrize(
    ("prefix", "scope"),
    [
        ("10.64.0.254/32", {"agg1", "ar1", "ar2"}),  # inside agg1's range
        ("10.64.3.254/32", ALL),  # inside agg2's range: goes everywhere
    ],
)
def test_host_route_scope_and_withdrawal(net, prefix, scope):
    prefix = IPv4Network(prefix)
    assert net.expected_host_route_scope("ar1", prefix) == scope
    check.announce(net, "ar1", prefix, 1_700_000_000)
    try:
        assert fib.wait_holders(net, prefix, scope) == scope
        data = net.routers["agg1"].vty.json(
            f"show bgp ipv4 unicast {prefix} json"
        )
        assert {p["locPrf"] for p in data["paths"]} == {1_700_000_000}
    finally:
        check.withdraw(net, "ar1", prefix)
    assert fib.wait_holders(net, prefix, set()) == set()


def test_check_host_routes(net):
    assert check.check_host_routes(net) == []


def _mn_state(mn):
    return mn.cmd(
        "ip -4 -o addr show dev mn1-eth0; cat /sys/class/net/mn1-eth0/address"
    )


def test_move_access_keeps_mn_addresses(net):
    mn = net.mns["mn1"]
    host = IPv4Network("10.64.0.100/32")  # from ar1's pool
    assert net.access_of("mn1") == "ar1"
    mn.cmd("ip addr add 10.64.0.100/32 dev mn1-eth0")
    mn.cmd("ip route add 169.254.0.1 dev mn1-eth0")
    mn.cmd("ip route add default via 169.254.0.1 src 10.64.0.100")
    try:
        check.announce(net, "ar1", host, 1)
        assert _ping(mn, "10.64.0.100", net.plan.cn_address)
        before = _mn_state(mn)
        check.withdraw(net, "ar1", host)

        net.move_access("mn1", "ar3")
        check.announce(net, "ar3", host, 2)
        fib.wait_holders(net, host, ALL)

        assert net.access_of("mn1") == "ar3"
        assert _mn_state(mn) == before
        ar3 = net.routers["ar3"].node
        assert "mn1-acc" in ar3.cmd("ip -o link show master acc")
        assert "mn1-acc" not in net.routers["ar1"].node.cmd("ip -o link")
        assert _ping(mn, "10.64.0.100", net.plan.gateway("ar2").ip)
        assert _ping(mn, "10.64.0.100", net.plan.cn_address)
        neigh = mn.cmd("ip neigh show 169.254.0.1 dev mn1-eth0")
        assert "02:fb:00:00:00:01" in neigh
    finally:
        check.withdraw(net, net.access_of("mn1"), host)
        net.move_access("mn1", "ar1")
        mn.cmd("ip route flush dev mn1-eth0; ip addr flush dev mn1-eth0")
    assert net.access_of("mn1") == "ar1"
    assert "mn1-acc" in net.routers["ar1"].node.cmd(
        "ip -o link show master acc"
    )


def test_move_to_unknown_ar_refused(net):
    from flatmob_mn.errors import TopologyError

    with pytest.raises(TopologyError, match="ar99"):
        net.move_access("mn1", "ar99")
    assert net.access_of("mn1") == "ar1"


def test_vty_config_error_names_router(net):
    with pytest.raises(FrrError, match="^ar2: "):
        net.routers["ar2"].vty.config(["router bgp 65000", "no-such-thing"])


def test_wait_converged_returns_on_converged_network(net):
    net.wait_converged(timeout=10)


def test_flatmob_check_command():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "flatmob_mn.cli",
            "check",
            "--topology",
            str(TINY),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert all(line.startswith("*** ") for line in lines)
    for name in (
        "routing tables",
        "AR-to-AR reachability",
        "host route scope and withdrawal",
    ):
        assert f"*** {name}: ok" in lines
    assert lines[-1] == "*** all checks passed"


def test_lab_runs_own_and_registered_commands(net, tmp_path, capsys):
    from flatmob_mn.topology import lab

    def whereis(network, line):
        print(f"{line} at {network.access_of(line)}")

    lab.COMMANDS["whereis"] = (whereis, "where an MN is attached")
    script = tmp_path / "lab.txt"
    script.write_text("routers\nwhereis mn2\nvtysh ar1 show ip bgp summary\n")
    try:
        with open(os.devnull) as stdin:
            lab.LabCLI(net, stdin=stdin, script=str(script))
    finally:
        del lab.COMMANDS["whereis"]
    out = capsys.readouterr().out
    assert "ar3      ar     10.255.0.6 cluster agg2" in out
    assert "mn2 at ar2" in out
    assert "10.255.0.2" in out  # ar1's session with agg1
