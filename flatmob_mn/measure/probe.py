"""UDP probes and one TCP flow that cross the network during moves.

Run inside nodes as ``python -m flatmob_mn.measure.probe ROLE ...``:

- ``send``: from the correspondent node, a stream of numbered datagrams
  to each target at a fixed rate;
- ``recv``: on an MN, record each datagram's number and arrival time;
- ``tcp-send`` / ``tcp-recv``: one paced TCP byte stream, checked for
  continuity at the receiver.

Each probe datagram::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                     sequence number (u32)                     |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                 send time, ns since the epoch (u64)           |
    |                                                               |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                      padding to 64 bytes                      |

The receiver writes one record per datagram to a binary file: the same
sequence number and send time, then the arrival time (u64).
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import struct
import sys
import time
from pathlib import Path

PROBE_PORT = 7420
TCP_PORT = 7421
HEADER = struct.Struct("!IQ")
RECORD = struct.Struct("!IQQ")
PROBE_SIZE = 64
TCP_CHUNK = 1000


class Stop(Exception):
    """Raised by the signal handler to end a probe loop."""


def _on_signal(*_: object) -> None:
    raise Stop


def send(targets: list[str], rate: float, out: Path) -> None:
    """Send numbered datagrams to every target at ``rate`` per second."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    pad = bytes(PROBE_SIZE - HEADER.size)
    interval = 1.0 / rate
    seq = 0
    start = time.monotonic()
    try:
        while True:
            now_ns = time.time_ns()
            for target in targets:
                try:
                    sock.sendto(
                        HEADER.pack(seq, now_ns) + pad, (target, PROBE_PORT)
                    )
                except OSError:
                    pass  # no route for a moment: the gap shows it
            seq += 1
            delay = start + seq * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    except Stop:
        pass
    out.write_text(json.dumps({"sent": seq, "rate": rate, "targets": targets}))


def recv(out: Path) -> None:
    """Record every probe that arrives until stopped."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", PROBE_PORT))
    with open(out, "wb", buffering=1 << 16) as f:
        try:
            while True:
                data = sock.recv(2048)
                t = time.time_ns()
                if len(data) >= HEADER.size:
                    seq, sent = HEADER.unpack_from(data)
                    f.write(RECORD.pack(seq, sent, t))
        except Stop:
            pass


def read_records(path: Path) -> list[tuple[int, int, int]]:
    """Return (seq, send time, arrival time) of every recorded probe."""
    data = path.read_bytes() if path.exists() else b""
    usable = len(data) - len(data) % RECORD.size
    return [RECORD.unpack_from(data, i) for i in range(0, usable, RECORD.size)]


def tcp_send(target: str, rate: float, out: Path) -> None:
    """Stream numbered chunks to ``target`` at ``rate`` chunks a second."""
    result: dict[str, object] = {"connected": False, "sent": 0, "error": None}
    try:
        with socket.create_connection((target, TCP_PORT), 10) as sock:
            result["connected"] = True
            sock.settimeout(None)
            start = time.monotonic()
            n = 0
            while True:
                chunk = struct.pack("!Q", n).ljust(TCP_CHUNK, b".")
                sock.sendall(chunk)
                n += 1
                result["sent"] = n
                delay = start + n / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
    except Stop:
        pass
    except OSError as exc:
        result["error"] = str(exc)
    out.write_text(json.dumps(result))


def tcp_recv(out: Path) -> None:
    """Accept one stream and check that every chunk arrives in order."""
    result: dict[str, object] = {
        "received": 0,
        "in_order": True,
        "error": None,
        "max_gap_ms": 0.0,
        "closed": False,
    }
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", TCP_PORT))
    server.listen(1)
    try:
        conn, _ = server.accept()
        _tcp_read(conn, result)
    except Stop:
        pass
    except OSError as exc:
        result["error"] = str(exc)
    out.write_text(json.dumps(result))


def _tcp_read(conn: socket.socket, result: dict[str, object]) -> None:
    buf = b""
    expect = 0
    last = time.monotonic()
    while True:
        data = conn.recv(65536)
        if not data:
            result["closed"] = True  # the sender ended the flow
            return
        now = time.monotonic()
        gap = (now - last) * 1000
        result["max_gap_ms"] = max(float(str(result["max_gap_ms"])), gap)
        last = now
        buf += data
        while len(buf) >= TCP_CHUNK:
            (n,) = struct.unpack_from("!Q", buf)
            if n != expect:
                result["in_order"] = False
            expect = n + 1
            buf = buf[TCP_CHUNK:]
        result["received"] = expect


def main(argv: list[str] | None = None) -> int:
    """Run one probe role until SIGTERM."""
    parser = argparse.ArgumentParser(prog="probe")
    parser.add_argument(
        "role", choices=["send", "recv", "tcp-send", "tcp-recv"]
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument(
        "--to",
        dest="targets",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="a target address (send roles; repeatable)",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    if args.role == "send":
        send(args.targets, args.rate, args.out)
    elif args.role == "recv":
        recv(args.out)
    elif args.role == "tcp-send":
        tcp_send(args.targets[0], args.rate, args.out)
    else:
        tcp_recv(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
