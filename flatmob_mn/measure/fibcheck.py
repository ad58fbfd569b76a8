"""Check the no-stale-route invariant from the routers' kernel FIBs.

After a sequence of moves has converged, for each MN address:

- from every router, following the kernel's own forwarding decision
  (``ip route get``, policy rules included) hop by hop ends at the AR the
  MN is attached to now, which sends it out of its access bridge: no
  loop, no black hole, no detour to an AR the MN has left;
- only that AR holds an access route for the address;
- a BGP /32 for the address exists only where the current AR's host
  route is expected (its cluster, and everywhere when the address is
  outside that cluster's range), and nowhere at all when no AR
  originates one (an MN at the AR that owns its address, never moved).

The agents' beliefs are not consulted: only what the kernels forward.
"""

from __future__ import annotations

import ipaddress
import json
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flatmob_mn.agents.fib import ACCESS_TABLE
from flatmob_mn.topology.addressing import ACCESS_BRIDGE

MAX_HOPS = 32


@dataclass
class RouterFib:
    """What one router's kernel says about the MN addresses."""

    router: str
    next_hop: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    bgp_host_routes: set[str] = field(default_factory=set)
    access_routes: set[str] = field(default_factory=set)
    addresses: set[str] = field(default_factory=set)


def read_fib(
    router: str, node: Any, addresses: Iterable[str], mn_block: str
) -> RouterFib:
    """Ask one router's kernel about ``addresses`` in a single command."""
    addrs = list(addresses)
    script = "; ".join(
        [f"ip -j route get {shlex.quote(a)}" for a in addrs]
        + [
            "echo ===",
            "ip -j -4 route show table all",
            "echo ===",
            "ip -j -4 addr show",
        ]
    )
    out = node.cmd(script).replace("\r", "")
    gets, routes, addrs_json = (out.split("===\n") + ["", ""])[:3]
    fib = RouterFib(router)
    for line, address in zip(_json_lines(gets), addrs, strict=False):
        entry = line[0] if line else {}
        fib.next_hop[address] = (entry.get("dev", ""), entry.get("gateway"))
    block = ipaddress.ip_network(mn_block)
    for route in _first_json(routes) or []:
        dst = route.get("dst", "")
        if "/" in dst or dst in ("default", "") or "type" in route:
            continue  # only /32s print without a length; skip local
        if ipaddress.ip_address(dst) not in block:
            continue
        if route.get("table") == str(ACCESS_TABLE):
            fib.access_routes.add(dst)
        elif route.get("protocol") == "bgp" and "table" not in route:
            fib.bgp_host_routes.add(dst)
    for link in _first_json(addrs_json) or []:
        for info in link.get("addr_info", []):
            fib.addresses.add(info["local"])
    return fib


def _json_lines(text: str) -> list[Any]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append([])
    return out


def _first_json(text: str) -> Any:
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text.splitlines()[0])
    except ValueError:
        return None


def check(
    fibs: Mapping[str, RouterFib],
    where: Mapping[str, str],
    scope: Mapping[str, set[str]],
) -> list[str]:
    """Return every violation of the invariant (empty when it holds).

    :param fibs: each router's FIB, from :func:`read_fib`.
    :param where: each MN address and the AR it is attached to now.
    :param scope: each address and the routers that should hold its /32
        when the current AR originates one.
    """
    owner = {a: r for r, fib in fibs.items() for a in fib.addresses}
    problems = []
    for address, ar in where.items():
        for router in fibs:
            problem = _follow(fibs, owner, router, address, ar)
            if problem:
                problems.append(problem)
        problems.extend(_host_routes(fibs, address, ar, scope[address]))
    return problems


def _follow(
    fibs: Mapping[str, RouterFib],
    owner: Mapping[str, str],
    start: str,
    address: str,
    ar: str,
) -> str | None:
    path = [start]
    router = start
    while len(path) <= MAX_HOPS:
        dev, gateway = fibs[router].next_hop.get(address, ("", None))
        if dev == ACCESS_BRIDGE:
            if router == ar:
                return None
            return (
                f"{address}: {'>'.join(path)} delivers at {router}, "
                f"but the MN is at {ar}"
            )
        if not dev:
            return f"{address}: {'>'.join(path)}: no route at {router}"
        nxt = owner.get(gateway or "")
        if nxt is None:
            return (
                f"{address}: {'>'.join(path)}: {router} forwards to "
                f"{gateway or dev}, which is no router"
            )
        if nxt in path:
            return f"{address}: loop {'>'.join(path + [nxt])}"
        path.append(nxt)
        router = nxt
    return f"{address}: path longer than {MAX_HOPS} hops from {start}"


def _host_routes(
    fibs: Mapping[str, RouterFib], address: str, ar: str, scope: set[str]
) -> list[str]:
    problems = []
    for router, fib in fibs.items():
        if address in fib.access_routes and router != ar:
            problems.append(
                f"{address}: stale access route at {router} (MN is at {ar})"
            )
    originated = address in fibs[ar].access_routes
    holders = {r for r, f in fibs.items() if address in f.bgp_host_routes}
    # The originating AR itself routes by its access table, not by BGP.
    expected = (scope - {ar}) if originated else set()
    for router in sorted(holders - expected):
        problems.append(f"{address}: unexpected /32 at {router}")
    for router in sorted(expected - holders):
        problems.append(f"{address}: /32 missing at {router}")
    return problems
