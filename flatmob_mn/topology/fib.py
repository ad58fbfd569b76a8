"""Read routers' kernel FIBs and wait for routes to spread or vanish."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Network
from typing import TYPE_CHECKING

from flatmob_mn.errors import TopologyError

if TYPE_CHECKING:
    from flatmob_mn.topology.network import Network

WORKERS = 8


def kernel_routes(node: object) -> set[IPv4Network]:
    """Return the IPv4 prefixes of the main table of ``node``'s kernel.

    :raises TopologyError: ``ip route`` failed in the node.
    """
    proc = node.popen(  # type: ignore[attr-defined]
        ["ip", "-j", "-4", "route", "show"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = proc.communicate(timeout=30)
    if proc.returncode != 0:
        name = getattr(node, "name", "?")
        raise TopologyError(f"{name}: ip route: {err.decode().strip()}")
    found = set()
    for entry in json.loads(out or b"[]"):
        dst = entry.get("dst", "")
        if dst == "default":
            dst = "0.0.0.0/0"
        found.add(IPv4Network(dst if "/" in dst else f"{dst}/32"))
    return found


def fibs(net: Network, routers: Iterable[str]) -> dict[str, set[IPv4Network]]:
    """Return the kernel FIB of each router in ``routers``, in parallel."""
    names = list(routers)
    nodes = [net.routers[n].node for n in names]
    with ThreadPoolExecutor(WORKERS) as pool:
        tables = list(pool.map(kernel_routes, nodes))
    return dict(zip(names, tables, strict=True))


def holders(net: Network, prefix: IPv4Network) -> set[str]:
    """Return the AS routers whose kernel FIB holds exactly ``prefix``."""
    tables = fibs(net, net.layout.routers())
    return {name for name, table in tables.items() if prefix in table}


def wait_holders(
    net: Network,
    prefix: IPv4Network,
    want: set[str],
    timeout: float = 10.0,
) -> set[str]:
    """Poll until the routers holding ``prefix`` are exactly ``want``.

    :returns: the holders at the end (equal to ``want`` unless timed out).
    """
    deadline = time.monotonic() + timeout
    while True:
        have = holders(net, prefix)
        if have == want or time.monotonic() > deadline:
            return have
        time.sleep(0.1)
