"""An AR's kernel view: access host routes and BGP routes that appear.

Forwarding on an AR looks up three places, in this order::

    rule 100  main table, /32 results only    (newer host routes in BGP)
    rule 110  table 100, the access table     (MNs attached here)
    default   main table, everything          (pools, aggregates)

The access table holds one /32 per MN address attached here, out of the
access bridge.  zebra never sees it (it reads only the main table), so
a host route that BGP prefers, the newer attachment of an MN that has
moved on, wins at once in the kernel without any agent in the way; the
agent sees that route appear and withdraws its own, stale, one.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

T = TypeVar("T")

ACCESS_TABLE = 100
RULE_HOST_ROUTES = 100
RULE_ACCESS = 110
PROTO_BGP = 186
PROTO_FLATMOB = 99  # marks the access routes that the AR agent installs
RT_SCOPE_LINK = 253
NEIGH_RETRANS_MS = 50


class AccessRoutes:
    """Install and remove /32 routes to attached MNs in the access table.

    pyroute2's synchronous socket cannot be used from a thread that runs
    an asyncio loop, so one worker thread owns the socket and every call
    is handed to it (and waited for).
    """

    def __init__(self, bridge: str) -> None:
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="routes")
        self._ipr: IPRoute | None = None
        self._index = self._call(self._open, bridge)

    def _call(self, fn: Callable[..., T], *args: object) -> T:
        return self._worker.submit(fn, *args).result()

    def _open(self, bridge: str) -> int:
        _tune_neighbours(bridge)
        self._ipr = IPRoute()
        index = self._ipr.link_lookup(ifname=bridge)[0]
        for rule in self._ipr.get_rules(family=2):
            if rule.get("priority") in (RULE_HOST_ROUTES, RULE_ACCESS):
                return int(index)
        self._ipr.rule(
            "add", table=254, priority=RULE_HOST_ROUTES, suppress_prefixlen=31
        )
        self._ipr.rule("add", table=ACCESS_TABLE, priority=RULE_ACCESS)
        return int(index)

    def add(self, address: str) -> None:
        """Route ``address``/32 out of the access bridge."""
        self._call(self._add, address)

    def _add(self, address: str) -> None:
        assert self._ipr is not None
        self._ipr.route(
            "replace",
            dst=address,
            dst_len=32,
            oif=self._index,
            table=ACCESS_TABLE,
            scope=RT_SCOPE_LINK,
            proto=PROTO_FLATMOB,
        )

    def remove(self, address: str) -> None:
        """Remove the access route of ``address``, if there is one."""
        self._call(self._remove, address)

    def _remove(self, address: str) -> None:
        assert self._ipr is not None
        try:
            self._ipr.route(
                "del",
                dst=address,
                dst_len=32,
                table=ACCESS_TABLE,
                oif=self._index,
                scope=RT_SCOPE_LINK,
                proto=PROTO_FLATMOB,
            )
        except NetlinkError as exc:
            if exc.code != errno.ESRCH:
                raise

    def port_of(self, neighbour: str) -> str | None:
        """Return the bridge port behind which ``neighbour`` sits."""
        return self._call(self._port_of, neighbour)

    def has_left(self, neighbour: str) -> bool:
        """Tell whether ``neighbour``'s known MAC is behind no port now."""
        return self._call(self._has_left, neighbour)

    def _has_left(self, neighbour: str) -> bool:
        mac = self._mac(neighbour)
        return mac is not None and self._port_of_mac(mac) is None

    def _mac(self, neighbour: str) -> str | None:
        assert self._ipr is not None
        for n in self._ipr.get_neighbours(ifindex=self._index, dst=neighbour):
            if n.get_attr("NDA_LLADDR"):
                return str(n.get_attr("NDA_LLADDR"))
        return None

    def _port_of(self, neighbour: str) -> str | None:
        mac = self._mac(neighbour)
        return None if mac is None else self._port_of_mac(mac)

    def _port_of_mac(self, mac: str) -> str | None:
        ipr = self._ipr
        assert ipr is not None
        for entry in ipr.fdb("dump", lladdr=mac):
            if entry.get_attr("NDA_MASTER") == self._index:
                port = ipr.get_links(entry["ifindex"])[0]
                return str(port.get_attr("IFLA_IFNAME"))
        return None

    def close(self) -> None:
        """Release the netlink socket and the worker."""
        if self._ipr is not None:
            self._call(self._ipr.close)
        self._worker.shutdown()


def _tune_neighbours(bridge: str) -> None:
    # An MN that comes back finds the AR's neighbour entry for it failed
    # or still probing from the time it was away, and the kernel retries
    # only every second by default: the first answers to the MN would
    # wait that long.  Probing every 50 ms bounds the wait.
    path = Path("/proc/sys/net/ipv4/neigh") / bridge / "retrans_time_ms"
    path.write_text(f"{NEIGH_RETRANS_MS}\n")


def watch_kernel(
    host_route: Callable[[str], object], link_gone: Callable[[str], object]
) -> threading.Thread:
    """Report BGP /32 routes that appear and interfaces that go away.

    ``host_route(address)`` is called whenever BGP installs a /32 here;
    ``link_gone(ifname)`` whenever an interface leaves this namespace
    (an MN's access port moved to another AR).  The watcher runs in a
    daemon thread with its own netlink socket, made inside that thread
    (pyroute2 sockets must stay in the thread that made them).
    """

    def run() -> None:
        ipr = IPRoute()
        ipr.bind()
        while True:
            for msg in ipr.get():
                if _is_bgp_host_route(msg):
                    host_route(msg.get_attr("RTA_DST"))
                elif msg.get("event") == "RTM_DELLINK":
                    link_gone(msg.get_attr("IFLA_IFNAME"))

    thread = threading.Thread(target=run, name="kernel-watch", daemon=True)
    thread.start()
    return thread


def _is_bgp_host_route(msg) -> bool:  # type: ignore[no-untyped-def]
    return (
        msg.get("event") == "RTM_NEWROUTE"
        and msg.get("dst_len") == 32
        and msg.get("proto") == PROTO_BGP
        and (msg.get_attr("RTA_TABLE") or msg.get("table")) == 254
    )
