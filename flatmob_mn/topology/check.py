"""Verify a running network: reachability, aggregates and host routes.

Each check takes the network and returns a list of failures (empty when
it holds), each naming the router and the missing or extra route.
``EXTRA_CHECKS`` holds further checks (DNS, for instance) that
:func:`run_checks` runs after the built-in ones.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import TYPE_CHECKING

from flatmob_mn.errors import FrrError
from flatmob_mn.topology import fib

if TYPE_CHECKING:
    from flatmob_mn.topology.network import Network

Check = Callable[["Network"], list[str]]

# Further checks run by ``flatmob check`` after the built-in ones.
EXTRA_CHECKS: list[tuple[str, Check]] = []

HOST_ROUTE_MAP = "FLATMOB-CHECK"
SETTLE = 1.0  # seconds to watch for a route spreading too far


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one named check."""

    name: str
    failures: list[str]

    @property
    def ok(self) -> bool:
        """Tell whether the check held."""
        return not self.failures


def check_pings(net: Network) -> list[str]:
    """Ping every AR's gateway address from every other AR's gateway."""
    ars = net.ars
    with ThreadPoolExecutor(8) as pool:
        results = pool.map(lambda ar: _ping_all(net, ar), ars)
        return [line for lines in results for line in lines]


def _ping_all(net: Network, ar: str) -> list[str]:
    src = net.plan.gateway(ar).ip
    targets = [str(net.plan.gateway(o).ip) for o in net.ars if o != ar]
    script = (
        f"for t in {' '.join(targets)}; do "
        f"ping -n -q -c 1 -W 2 -I {src} $t >/dev/null 2>&1 || echo $t; "
        f"done"
    )
    proc = net.routers[ar].node.popen(
        ["sh", "-c", script],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out, _ = proc.communicate(timeout=10 + 3 * len(targets))
    return [f"{ar}: no reply from {t}" for t in out.decode().split()]


def check_tables(net: Network) -> list[str]:
    """Cores hold every cluster aggregate and no pool; ARs and aggs hold
    their cluster's pools (kernel FIBs)."""
    plan = net.plan
    tables = fib.fibs(net, net.layout.routers())
    failures = []
    # A cluster of one AR has its pool as its aggregate: that pool is
    # the aggregate the cores must hold, not a leak.
    pools = set(plan.pools.values()) - set(plan.clusters.values())
    for core in net.cores:
        for aggregate in plan.clusters.values():
            if aggregate not in tables[core]:
                failures.append(f"{core}: missing aggregate {aggregate}")
        for extra in sorted(tables[core] & pools):
            failures.append(f"{core}: holds pool {extra}")
    for agg in net.aggs:
        members = net.layout.clusters[agg]
        for router in (agg, *members):
            for ar in members:
                if ar != router and plan.pool(ar) not in tables[router]:
                    failures.append(
                        f"{router}: missing pool {plan.pool(ar)} of {ar}"
                    )
    return failures


def check_host_routes(net: Network) -> list[str]:
    """Announce a /32 inside and one outside the first cluster's range
    from its first AR; each must reach exactly its scope, then vanish."""
    ar = net.ars[0]
    agg = net.layout.agg_of(ar)
    inside = _host(net.plan.pool(ar))
    others = [a for a in net.aggs if a != agg]
    if not others:
        return _host_route(net, ar, inside)
    outside = _host(net.plan.pool(net.layout.clusters[others[-1]][-1]))
    return _host_route(net, ar, inside) + _host_route(net, ar, outside)


def _host(pool: IPv4Network) -> IPv4Network:
    return IPv4Network(f"{pool.broadcast_address - 1}/32")


def _host_route(net: Network, ar: str, prefix: IPv4Network) -> list[str]:
    want = net.expected_host_route_scope(ar, prefix)
    local_pref = int(time.time())
    announce(net, ar, prefix, local_pref)
    try:
        failures = _scope(net, prefix, want)
        failures += _local_pref(net, net.layout.agg_of(ar), prefix, local_pref)
    finally:
        withdraw(net, ar, prefix)
    left = fib.wait_holders(net, prefix, set())
    failures += [f"{r}: still holds {prefix} after withdrawal" for r in left]
    return failures


def _scope(net: Network, prefix: IPv4Network, want: set[str]) -> list[str]:
    have = fib.wait_holders(net, prefix, want)
    if have == want:
        time.sleep(SETTLE)
        have = fib.holders(net, prefix)
    failures = [f"{r}: missing host route {prefix}" for r in want - have]
    failures += [f"{r}: extra host route {prefix}" for r in have - want]
    return sorted(failures)


def _local_pref(
    net: Network, router: str, prefix: IPv4Network, want: int
) -> list[str]:
    try:
        data = net.routers[router].vty.json(
            f"show bgp ipv4 unicast {prefix} json"
        )
    except FrrError as exc:
        return [str(exc)]
    prefs = {p.get("locPrf") for p in data.get("paths", [])}
    if want not in prefs:
        return [f"{router}: {prefix} has LOCAL_PREF {prefs}, not {want}"]
    return []


def announce(
    net: Network, ar: str, prefix: IPv4Network, local_pref: int
) -> None:
    """Make ``ar`` route ``prefix`` to its bridge and announce it in iBGP
    with LOCAL_PREF ``local_pref``."""
    node = net.routers[ar].node
    node.cmd(f"ip route replace {prefix} dev acc")
    net.routers[ar].vty.config(
        [
            f"route-map {HOST_ROUTE_MAP} permit 10",
            f"set local-preference {local_pref}",
            "exit",
            f"router bgp {net.spec.asn}",
            "address-family ipv4 unicast",
            f"network {prefix} route-map {HOST_ROUTE_MAP}",
        ]
    )


def withdraw(net: Network, ar: str, prefix: IPv4Network) -> None:
    """Withdraw a host route that :func:`announce` made."""
    net.routers[ar].vty.config(
        [
            f"router bgp {net.spec.asn}",
            "address-family ipv4 unicast",
            f"no network {prefix} route-map {HOST_ROUTE_MAP}",
        ]
    )
    net.routers[ar].node.cmd(f"ip route del {prefix} dev acc")


BUILT_IN: list[tuple[str, Check]] = [
    ("routing tables", check_tables),
    ("AR-to-AR reachability", check_pings),
    ("host route scope and withdrawal", check_host_routes),
]


def run_checks(net: Network) -> Iterator[CheckResult]:
    """Run the built-in checks, then ``EXTRA_CHECKS``, one at a time."""
    for name, check in [*BUILT_IN, *EXTRA_CHECKS]:
        yield CheckResult(name, check(net))
