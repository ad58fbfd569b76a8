"""Record every kernel FIB change of host routes, in every router.

One thread per router enters the router's network namespace, opens a
netlink socket there, subscribed to IPv4 route changes, and records each
RTM_NEWROUTE and RTM_DELROUTE of a /32 inside the MN block, with the
wall-clock time it was read.  The kernel pushes these messages: nothing
is polled.  The thread reads the socket itself and leaves the decoding
to pyroute2's parser, so that no message can wait in a library buffer
while the thread sleeps in ``select``.  Times are taken when
the message is read, which lags the kernel's change by the thread's
scheduling delay (tens of microseconds on an idle machine, more under
load); the figures carry that error.
"""

from __future__ import annotations

import ipaddress
import select
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from pyroute2.netlink.rtnl.marshal import MarshalRtnl

from flatmob_mn.netns import entered

POLL_STOP = 0.2
RTMGRP_IPV4_ROUTE = 0x40
RCVBUF = 4 << 20


@dataclass(frozen=True)
class FibChange:
    """One change of a /32 in one router's kernel FIB."""

    t: int  # wall clock, ns
    router: str
    event: str  # "add" or "del"
    address: str
    table: int
    proto: int
    gateway: str | None
    oif: int | None


class FibWatch:
    """Watch the FIBs of many routers at once."""

    def __init__(self, pids: Mapping[str, int], mn_block: str) -> None:
        self._pids = dict(pids)
        self._block = ipaddress.ip_network(mn_block)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._ready = threading.Barrier(len(self._pids) + 1)
        self.changes: list[FibChange] = []

    def start(self, timeout: float = 10.0) -> None:
        """Start one watcher per router; return once all listen."""
        for router, pid in self._pids.items():
            thread = threading.Thread(
                target=self._watch,
                args=(router, pid),
                name=f"fib-{router}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        self._ready.wait(timeout)

    def _watch(self, router: str, pid: int) -> None:
        with entered(pid):
            sock = socket.socket(
                socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE
            )
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            sock.bind((0, RTMGRP_IPV4_ROUTE))
            marshal = MarshalRtnl()
            self._ready.wait()
            while not self._stop.is_set():
                readable, _, _ = select.select([sock], [], [], POLL_STOP)
                if readable:
                    self._read(router, sock.recv(1 << 16), marshal)
        finally:
            sock.close()

    def _read(self, router: str, data: bytes, marshal: MarshalRtnl) -> None:
        t = time.time_ns()
        found = []
        for msg in marshal.parse(data):
            change = self._change(router, msg, t)
            if change is not None:
                found.append(change)
        if found:
            with self._lock:
                self.changes.extend(found)

    def _change(self, router: str, msg, t: int) -> FibChange | None:  # type: ignore[no-untyped-def]
        event = msg.get("event")
        if event not in ("RTM_NEWROUTE", "RTM_DELROUTE"):
            return None
        if msg.get("dst_len") != 32:
            return None
        dst = msg.get_attr("RTA_DST")
        if dst is None or ipaddress.ip_address(dst) not in self._block:
            return None
        return FibChange(
            t=t,
            router=router,
            event="add" if event == "RTM_NEWROUTE" else "del",
            address=dst,
            table=msg.get_attr("RTA_TABLE") or msg.get("table"),
            proto=msg.get("proto"),
            gateway=msg.get_attr("RTA_GATEWAY"),
            oif=msg.get_attr("RTA_OIF"),
        )

    def snapshot(self) -> list[FibChange]:
        """Return the changes recorded so far."""
        with self._lock:
            return list(self.changes)

    def stop(self) -> None:
        """Stop every watcher and close its socket."""
        self._stop.set()
        for thread in self._threads:
            thread.join(POLL_STOP * 5)
