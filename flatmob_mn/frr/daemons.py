"""Start and stop FRR daemons inside a Mininet node.

Every file of a router's daemons lives in its own folder (owned by user
``frr``): configuration, pid files, vty sockets, the zserv socket and
logs.  Daemons run in the foreground as children of the controlling
process (``mnexec -a`` joins the node's namespaces), so their pid is
known the moment they exist and can be recorded at once.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from flatmob_mn.errors import FrrError

FRR_LIB = Path("/usr/lib/frr")
FRR_USER = "frr"
# One malloc arena and an early trim: about 4 MB less RSS per router
# (measured with FRR 8.4); bgpd's few threads hardly contend for malloc.
MALLOC_ENV = {
    "MALLOC_ARENA_MAX": "1",
    "GLIBC_TUNABLES": "glibc.malloc.trim_threshold=131072",
}


def write_config(folder: Path, daemon: str, text: str) -> Path:
    """Write ``daemon``'s configuration into ``folder`` and return its path."""
    path = folder / f"{daemon}.conf"
    path.write_text(text)
    shutil.chown(path, FRR_USER, FRR_USER)
    return path


def command(daemon: str, folder: Path) -> list[str]:
    """Return the command line that runs ``daemon`` from ``folder``."""
    # zebra -r: keep routes in the kernel on exit; the namespace is
    # discarded anyway, and withdrawing thousands of routes takes minutes.
    retain = ["-r"] if daemon == "zebra" else []
    return [
        str(FRR_LIB / daemon),
        *("-u", FRR_USER, "-g", FRR_USER),
        *("--vty_socket", str(folder)),
        *("-z", str(folder / "zserv.api")),
        *("-i", str(folder / f"{daemon}.pid")),
        *("-f", str(folder / f"{daemon}.conf")),
        *("-P", "0"),  # no TCP vty port; vtysh uses the socket
        *retain,
    ]


def start(node: Any, daemon: str, folder: Path) -> subprocess.Popen:
    """Start ``daemon`` inside ``node`` and return its process.

    :raises FrrError: the daemon exited at once.
    """
    out = open(folder / f"{daemon}.out", "ab")
    try:
        proc = node.popen(
            command(daemon, folder),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **MALLOC_ENV},
        )
    finally:
        out.close()
    if proc.poll() is not None:
        raise FrrError(f"{node.name}: {daemon} exited at once")
    return proc


def wait_socket(path: Path, proc: subprocess.Popen, timeout: float) -> None:
    """Wait until a daemon has made the socket ``path``.

    :raises FrrError: the daemon died or the socket did not appear.
    """
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise FrrError(
                f"{path.parent.name}: daemon exited "
                f"(status {proc.returncode}), see {path.parent}"
            )
        if time.monotonic() > deadline:
            raise FrrError(
                f"{path.parent.name}: no socket {path.name} "
                f"after {timeout:.0f} s"
            )
        time.sleep(0.02)


def stop(procs: list[subprocess.Popen], grace: float = 5.0) -> None:
    """Send SIGTERM to ``procs``, then SIGKILL those still running."""
    for proc in procs:
        if proc.poll() is None:
            _kill(proc, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        left = max(0.0, deadline - time.monotonic())
        try:
            proc.wait(timeout=left)
        except subprocess.TimeoutExpired:
            _kill(proc, signal.SIGKILL)
            proc.wait()


def _kill(proc: subprocess.Popen, sig: signal.Signals) -> None:
    try:
        os.kill(proc.pid, sig)
    except ProcessLookupError:
        pass
