"""Wait for routing to converge by polling FRR's JSON output.

A router has converged when it holds every route it should (installed
in its kernel FIB), all its BGP sessions are established, and it has a
full OSPF adjacency on every router link.  Routers are polled in
parallel; those done are not asked again.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Network
from typing import TYPE_CHECKING, Any

from flatmob_mn.errors import ConvergenceError, FrrError

if TYPE_CHECKING:
    from flatmob_mn.topology.network import Network, Router

POLL_INTERVAL = 0.2
WORKERS = 8


def expected_routes(net: Network, router: str) -> set[IPv4Network]:
    """Return the prefixes ``router`` must have installed once converged."""
    plan, lay = net.plan, net.layout
    role = net.routers[router].role
    if role == "border":
        return {plan.mn_block, plan.services}
    want = {
        IPv4Network(f"{plan.loopback(r)}/32")
        for r in lay.routers()
        if r != router
    }
    want.add(plan.correspondent)
    want.add(plan.dns_link.net)
    own = net.routers[router].agg if role == "ar" else router
    want |= {c for agg, c in plan.clusters.items() if agg != own}
    if role == "core":
        return want
    cluster = lay.clusters[own]  # type: ignore[index]
    want |= {plan.pool(ar) for ar in cluster if ar != router}
    if role == "ar":
        want.add(plan.cluster(own))  # type: ignore[arg-type]
    return want


def ospf_neighbours(net: Network, router: str) -> int:
    """Return how many full OSPF adjacencies ``router`` must have."""
    return sum(router in (link.a, link.b) for link in net.layout.links)


def missing(net: Network, router: Router) -> str | None:
    """Return what ``router`` still lacks, or None when it is done."""
    routes = installed_routes(router.vty.json("show ip route json"))
    lack = expected_routes(net, router.name) - routes
    if lack:
        shown = ", ".join(str(p) for p in sorted(lack)[:5])
        return f"routes {shown}" + (" ..." if len(lack) > 5 else "")
    wanted = {str(n.address) for n in router.config.bgp.neighbors}
    peers = router.vty.json("show bgp ipv4 unicast summary json")
    peers = peers.get("peers", {})
    down = {
        p for p in wanted if peers.get(p, {}).get("state") != "Established"
    }
    if down:
        return "BGP sessions with " + ", ".join(sorted(down))
    if router.config.ospf is None:
        return None
    full = full_adjacencies(router.vty.json("show ip ospf neighbor json"))
    need = ospf_neighbours(net, router.name)
    if full < need:
        return f"OSPF adjacencies ({full} of {need} full)"
    return None


def installed_routes(table: dict[str, Any]) -> set[IPv4Network]:
    """Return the prefixes of ``show ip route json`` installed in the FIB."""
    found = set()
    for prefix, entries in table.items():
        if any(e.get("installed") for e in entries):
            found.add(IPv4Network(prefix))
    return found


def full_adjacencies(data: dict[str, Any]) -> int:
    """Count the full adjacencies in ``show ip ospf neighbor json``."""
    count = 0
    for entries in data.get("neighbors", {}).values():
        for entry in entries:
            state = entry.get("nbrState") or entry.get("state") or ""
            count += state.startswith("Full")
    return count


def wait(net: Network, timeout: float) -> None:
    """Poll every router until none lacks anything.

    :raises ConvergenceError: naming one router and what it lacks.
    """
    deadline = time.monotonic() + timeout
    pending = dict.fromkeys(net.routers, "not asked yet")
    with ThreadPoolExecutor(WORKERS) as pool:
        while pending:
            names = list(pending)
            results = pool.map(lambda n: _ask(net, n), names)
            for name, lack in zip(names, results, strict=True):
                if lack is None:
                    del pending[name]
                else:
                    pending[name] = lack
            if not pending:
                return
            if time.monotonic() > deadline:
                name, lack = next(iter(pending.items()))
                raise ConvergenceError(
                    f"not converged after {timeout:.0f} s: {name} lacks "
                    f"{lack} ({len(pending)} routers not done)"
                )
            time.sleep(POLL_INTERVAL)


def _ask(net: Network, name: str) -> str | None:
    router = net.routers[name]
    for daemon, proc in router.procs.items():
        if proc.poll() is not None:
            raise ConvergenceError(f"{name}: {daemon} died, see {router.dir}")
    try:
        return missing(net, router)
    except FrrError as exc:
        return f"an answer from FRR ({exc})"
