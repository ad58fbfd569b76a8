"""A DNS relay on the anycast gateway, so MNs can resolve before routing.

An MN that has just attached has no routed address yet (or its address
is not yet routed to its new AR), but it must look up the AR's key to
authenticate.  Every AR therefore relays DNS datagrams from the access
link to the name server and back.  The relay trusts nothing: the MN
validates every answer against its trust anchors itself.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

MAX_PENDING = 1024


class DnsRelay(asyncio.DatagramProtocol):
    """Relay DNS queries from access clients to one upstream server."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._down: asyncio.DatagramTransport | None = None
        self._up: asyncio.DatagramTransport | None = None
        self._pending: dict[int, tuple[Any, bytes]] = {}
        self._ids = itertools.count()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._down = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if len(data) < 12 or self._up is None:
            return
        if len(self._pending) >= MAX_PENDING:
            self._pending.pop(next(iter(self._pending)))
        # Re-key each query by a relay-local id so that clients that
        # picked the same DNS id don't collide; restore it on the way
        # back.
        rid = next(self._ids) & 0xFFFF
        self._pending[rid] = (addr, data[:2])
        self._up.sendto(rid.to_bytes(2, "big") + data[2:])

    def answer(self, data: bytes) -> None:
        """Pass an upstream answer back to the client that asked."""
        if len(data) < 12:
            return
        entry = self._pending.pop(int.from_bytes(data[:2], "big"), None)
        if entry is None or self._down is None:
            return
        addr, qid = entry
        self._down.sendto(qid + data[2:], addr)

    async def start(self, listen: tuple[str, int]) -> None:
        """Open the listening and the upstream sockets."""
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, local_addr=listen)
        relay = self

        class Upstream(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: Any) -> None:
                relay.answer(data)

        self._up, _ = await loop.create_datagram_endpoint(
            Upstream, remote_addr=self.upstream
        )

    def close(self) -> None:
        """Close both sockets."""
        for transport in (self._down, self._up):
            if transport is not None:
                transport.close()
