"""The AR agent's side of lease events: a Unix datagram listener."""

from __future__ import annotations

import json
import os
import select
import socket
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from types import TracebackType

from flatmob_mn.dhcp.lease_hook import ACTIONS
from flatmob_mn.errors import DhcpError

_MAX_DATAGRAM = 65536


@dataclass(frozen=True)
class LeaseEvent:
    """A lease added, renewed (``old``) or deleted by an AR's server."""

    ar: str
    action: str
    mac: str
    ip: IPv4Address
    hostname: str | None
    client_id: str | None
    interface: str | None
    expires: int | None

    @classmethod
    def from_json(cls, data: bytes) -> LeaseEvent:
        """Parse one datagram sent by the lease hook.

        :raises DhcpError: if it is not a lease event.
        """
        try:
            obj = json.loads(data)
            event = cls(
                ar=str(obj["ar"]),
                action=str(obj["action"]),
                mac=str(obj["mac"]),
                ip=IPv4Address(obj["ip"]),
                hostname=obj.get("hostname"),
                client_id=obj.get("client_id"),
                interface=obj.get("interface"),
                expires=obj.get("expires"),
            )
        except (ValueError, TypeError, KeyError) as e:
            raise DhcpError(f"malformed lease event: {data[:200]!r}") from e
        if event.action not in ACTIONS:
            raise DhcpError(f"unknown lease event action {event.action!r}")
        return event


class LeaseEvents:
    """Receive lease events on a Unix datagram socket at ``socket_path``.

    Binding replaces a stale socket left at the path; closing removes
    the socket file.
    """

    def __init__(self, socket_path: Path | str) -> None:
        self.path = Path(socket_path)
        _remove_stale(self.path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self._sock.bind(str(self.path))
        except OSError as e:
            self._sock.close()
            raise DhcpError(f"cannot listen on {self.path}: {e}") from e

    def fileno(self) -> int:
        """Return the socket's descriptor, for select loops."""
        return self._sock.fileno()

    def recv(self, timeout: float | None = None) -> LeaseEvent:
        """Return the next lease event, skipping malformed datagrams.

        :param timeout: seconds to wait; None waits for ever.
        :raises DhcpError: if no event comes within ``timeout``.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            ready, _, _ = select.select([self._sock], [], [], left)
            if not ready:
                break
            data = self._sock.recv(_MAX_DATAGRAM)
            try:
                return LeaseEvent.from_json(data)
            except DhcpError:
                continue
        raise DhcpError(f"no lease event on {self.path} within {timeout} s")

    def __iter__(self) -> Iterator[LeaseEvent]:
        """Yield lease events as they come, for ever."""
        while True:
            yield self.recv()

    def close(self) -> None:
        """Stop listening and remove the socket file."""
        if self._sock.fileno() >= 0:
            self._sock.close()
            _remove_stale(self.path)

    def __enter__(self) -> LeaseEvents:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _remove_stale(path: Path) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise DhcpError(f"{path} exists and is not a socket")
    os.unlink(path)
