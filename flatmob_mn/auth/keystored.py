"""A key store in its own process, reached over a Unix socket.

Agents that use :class:`RemoteKeyStore` never hold a private key or an
LTSS: the key store process (``python -m flatmob_mn.auth.keystored``)
does, and answers three requests only.  Frames on the stream socket::

    request:  +-------------------+--------+------------------+
              | Length (32 bits)  | Op (1) | Payload          |
              +-------------------+--------+------------------+
    response: +-------------------+------------+--------------+
              | Length (32 bits)  | Status (1) | Payload      |
              +-------------------+------------+--------------+

    Length counts the octets after it (at most 4096).
    Op 1 INFO    payload empty; answer: suite (1) || name (ASCII)
    Op 2 PUBLIC  payload empty; answer: SubjectPublicKeyInfo DER
    Op 3 DERIVE  payload: Nlen (1) || peer name || Dlen (16 bits) ||
                 peer public key DER || FixedInfo;  answer: the MSK
    Status 0 OK, 1 FAILURE (the peer's key is invalid), 2 BAD REQUEST

No request returns the private key or an LTSS.  The socket is made
mode 0600, so only its owner (and root) can use it.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from flatmob_mn.auth.errors import AuthFailure, KeyStoreError
from flatmob_mn.auth.keys import (
    DEFAULT_CACHE_SIZE,
    MSK_LEN,
    LocalKeyStore,
    MskContext,
    Suite,
)

if TYPE_CHECKING:
    from flatmob_mn.runstate import RunDir

OP_INFO = 1
OP_PUBLIC = 2
OP_DERIVE = 3
OPS = frozenset({OP_INFO, OP_PUBLIC, OP_DERIVE})

STATUS_OK = 0
STATUS_FAILURE = 1
STATUS_BAD_REQUEST = 2

MAX_FRAME = 4096
_LEN = struct.Struct("!I")
_DER_LEN = struct.Struct("!H")


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    """Return ``size`` octets from ``sock``, or None at end of stream."""
    chunks = []
    while size:
        chunk = sock.recv(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _recv_frame(sock: socket.socket) -> bytes | None:
    """Return one frame's content, or None at end of stream or if too big."""
    head = _recv_exact(sock, _LEN.size)
    if head is None:
        return None
    (size,) = _LEN.unpack(head)
    if not 1 <= size <= MAX_FRAME:
        return None
    return _recv_exact(sock, size)


def _frame(first: int, payload: bytes) -> bytes:
    return _LEN.pack(1 + len(payload)) + bytes([first]) + payload


def answer(store: LocalKeyStore, request: bytes) -> bytes:
    """Return the response frame content for one request."""
    op, payload = request[0], request[1:]
    if op == OP_INFO and not payload:
        return bytes([STATUS_OK, store.suite]) + store.name.encode()
    if op == OP_PUBLIC and not payload:
        return bytes([STATUS_OK]) + store.public_key_der()
    if op != OP_DERIVE:
        return bytes([STATUS_BAD_REQUEST])
    try:
        size = payload[0]
        peer = payload[1 : 1 + size].decode("ascii")
        pos = 1 + size
        (der_size,) = _DER_LEN.unpack_from(payload, pos)
        pos += _DER_LEN.size
        der = payload[pos : pos + der_size]
        if len(der) != der_size:
            raise ValueError("truncated key")
        context, length = MskContext.from_fixed_info(payload[pos + der_size :])
        msk = store.derive_msk(peer, der, context, length)
    except AuthFailure:
        return bytes([STATUS_FAILURE])
    except (ValueError, TypeError, IndexError, struct.error):
        return bytes([STATUS_BAD_REQUEST])
    return bytes([STATUS_OK]) + msk


class _Handler(socketserver.BaseRequestHandler):
    """Serve requests on one connection until it closes."""

    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        with self.server.track(sock):
            while True:
                try:
                    request = _recv_frame(sock)
                    if request is None:
                        return
                    response = answer(self.server.store, request)
                    sock.sendall(_LEN.pack(len(response)) + response)
                except OSError:
                    return


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, store: LocalKeyStore) -> None:
        self.store = store
        self.path = path
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(path, _Handler)

    def server_bind(self) -> None:
        super().server_bind()
        # Before listen(): nobody can connect until the mode is set.
        os.chmod(self.path, 0o600)

    def track(self, sock: socket.socket) -> _Tracked:
        return _Tracked(self, sock)

    def close_all(self) -> None:
        with self._open_lock:
            for sock in self._open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class _Tracked:
    """Keep a connection in the server's set while it is served."""

    def __init__(self, server: _Server, sock: socket.socket) -> None:
        self.server, self.sock = server, sock

    def __enter__(self) -> None:
        with self.server._open_lock:
            self.server._open.add(self.sock)

    def __exit__(self, *exc: object) -> None:
        with self.server._open_lock:
            self.server._open.discard(self.sock)


class KeyStoreServer:
    """Serve a :class:`LocalKeyStore` on a Unix socket, in a thread."""

    def __init__(
        self, store: LocalKeyStore, socket_path: str | os.PathLike[str]
    ):
        self.store = store
        self.socket_path = str(socket_path)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"<KeyStoreServer {self.store.name} at {self.socket_path}>"

    def start(self) -> KeyStoreServer:
        """Bind the socket and serve in a background thread.

        :raises KeyStoreError: if the socket cannot be made.
        """
        if self._server is not None:
            raise KeyStoreError("key store server already started")
        if os.path.lexists(self.socket_path):
            raise KeyStoreError(f"{self.socket_path} already exists")
        try:
            self._server = _Server(self.socket_path, self.store)
        except OSError as exc:
            raise KeyStoreError(f"cannot serve on {self.socket_path}") from exc
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"keystore {self.store.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and remove the socket."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_all()
        server.server_close()
        if self._thread is not None:
            self._thread.join()
        try:
            os.unlink(self.socket_path)
        except FileNotFoundError:
            pass

    def __enter__(self) -> KeyStoreServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RemoteKeyStore:
    """A key store client: same interface as :class:`LocalKeyStore`."""

    def __init__(
        self, socket_path: str | os.PathLike[str], timeout: float = 5.0
    ) -> None:
        """Connect and learn the store's name, suite and public key.

        :raises KeyStoreError: if the key store cannot be reached.
        """
        self.socket_path = str(socket_path)
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        info = self._call(OP_INFO, b"")
        self.suite = Suite(info[0])
        self.name = info[1:].decode("ascii")
        self._public_der = self._call(OP_PUBLIC, b"")

    def __repr__(self) -> str:
        return f"<RemoteKeyStore {self.name} at {self.socket_path}>"

    def close(self) -> None:
        """Close the connection (a later call reconnects)."""
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _exchange(self, frame: bytes) -> bytes | None:
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.socket_path)
            except OSError:
                sock.close()
                raise
            self._sock = sock
        self._sock.sendall(frame)
        return _recv_frame(self._sock)

    def _call(self, op: int, payload: bytes) -> bytes:
        """Send one request; return the payload of an OK answer."""
        frame = _frame(op, payload)
        with self._lock:
            response = None
            for _ in range(2):
                try:
                    response = self._exchange(frame)
                except OSError:
                    response = None
                if response:
                    break
                self._drop()
        if not response:
            raise KeyStoreError(f"key store at {self.socket_path} unreachable")
        if response[0] == STATUS_FAILURE:
            raise AuthFailure()
        if response[0] != STATUS_OK:
            raise ValueError("the key store refused the request")
        return response[1:]

    def public_key_der(self) -> bytes:
        """Return the public key as SubjectPublicKeyInfo DER."""
        return self._public_der

    def derive_msk(
        self,
        peer_name: str,
        peer_public_der: bytes,
        context: MskContext,
        length: int = MSK_LEN,
    ) -> bytes:
        """Return the MSK shared with ``peer_name`` for ``context``.

        :raises AuthFailure: if the peer's public key is invalid.
        :raises ValueError: if the store refuses the request.
        :raises KeyStoreError: if the key store cannot be reached.
        """
        if not isinstance(context, MskContext):
            raise TypeError("context must be an MskContext")
        context.check()
        if not isinstance(peer_public_der, bytes):
            raise TypeError("peer_public_der must be bytes")
        raw = peer_name.encode("ascii")
        if len(raw) > 255 or len(peer_public_der) > 1024:
            raise ValueError("peer name or key too long")
        if not 0 < length <= 255:
            raise ValueError("MSK length must be 1..255 octets")
        payload = b"".join(
            (
                bytes([len(raw)]),
                raw,
                _DER_LEN.pack(len(peer_public_der)),
                peer_public_der,
                context.fixed_info(length),
            )
        )
        return self._call(OP_DERIVE, payload)


def spawn(
    key_path: str | os.PathLike[str],
    name: str,
    socket_path: str | os.PathLike[str],
    run_dir: RunDir | None = None,
    timeout: float = 10.0,
) -> subprocess.Popen[bytes]:
    """Start a key store process and wait until its socket answers.

    The process is recorded in ``run_dir`` (if given) as soon as it runs.

    :raises KeyStoreError: if it exits or does not answer in time.
    """
    command = [
        sys.executable,
        "-m",
        "flatmob_mn.auth.keystored",
        "--key",
        str(key_path),
        "--name",
        name,
        "--socket",
        str(socket_path),
    ]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    if run_dir is not None:
        run_dir.record_process(process.pid, f"keystored {name}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise KeyStoreError(
                f"key store {name} exited ({process.returncode})"
            )
        try:
            RemoteKeyStore(socket_path, timeout=1.0).close()
            return process
        except KeyStoreError:
            time.sleep(0.02)
    stop(process)
    raise KeyStoreError(f"key store {name} did not answer in {timeout} s")


def stop(process: subprocess.Popen[bytes], grace: float = 3.0) -> None:
    """End a key store process started by :func:`spawn`."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> int:
    """Serve a key file on a Unix socket until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(
        prog="python -m flatmob_mn.auth.keystored",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--key", required=True, help="PEM private key")
    parser.add_argument("--name", required=True, help="entity DNS name")
    parser.add_argument("--socket", required=True, help="Unix socket path")
    parser.add_argument("--cache-size", type=int, default=DEFAULT_CACHE_SIZE)
    args = parser.parse_args(argv)
    try:
        store = LocalKeyStore.load(args.key, args.name, args.cache_size)
    except (KeyStoreError, ValueError) as exc:
        print(f"keystored: {exc}", file=sys.stderr)
        return 1
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    server = KeyStoreServer(store, Path(args.socket))
    try:
        server.start()
    except KeyStoreError as exc:
        print(f"keystored: {exc}", file=sys.stderr)
        return 1
    try:
        while not done.wait(1.0):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
