"""The control interface of an agent: JSON lines over a Unix socket.

Experiments and the lab CLI drive agents through it.  A request is one
JSON object with an ``op`` field and the op's arguments; the answer is
one JSON object, ``{"ok": true, ...}`` or ``{"ok": false, "error": ...}``.
Each agent documents its ops in its ``control_ops`` table.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from flatmob_mn.errors import AgentError

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


async def serve(path: Path, ops: dict[str, Handler]) -> asyncio.Server:
    """Serve ``ops`` on the Unix socket at ``path``."""

    async def client(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while line := await reader.readline():
                answer = await _answer(line, ops)
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    path.unlink(missing_ok=True)
    return await asyncio.start_unix_server(client, path=str(path))


async def _answer(line: bytes, ops: dict[str, Handler]) -> dict[str, Any]:
    try:
        request = json.loads(line)
        handler = ops[request["op"]]
    except (ValueError, KeyError, TypeError):
        return {
            "ok": False,
            "error": f"bad request {line[:80]!r}; "
            f"ops: {', '.join(sorted(ops))}",
        }
    try:
        return {"ok": True, **await handler(request)}
    except AgentError as exc:
        return {"ok": False, "error": str(exc)}


class ControlClient:
    """A blocking client of an agent's control socket."""

    def __init__(self, path: Path, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.timeout = timeout

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        """Send one request and return the answer's fields.

        :raises AgentError: if the agent is unreachable or refuses.
        """
        request = json.dumps({"op": op, **args}).encode() + b"\n"
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(str(self.path))
                sock.sendall(request)
                answer = _read_line(sock)
        except OSError as exc:
            raise AgentError(f"agent at {self.path}: {exc}") from exc
        reply = json.loads(answer)
        if not reply.pop("ok", False):
            raise AgentError(reply.get("error", "request refused"))
        return reply


def _read_line(sock: socket.socket) -> bytes:
    buf = bytearray()
    while not buf.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("connection closed before the answer")
        buf += chunk
    return bytes(buf)
