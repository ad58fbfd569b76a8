"""busybox udhcpc as the MN's DHCP client, with our own script.

The MN asks once, on its first attachment, for an address from the AR's
pool and the name of its HA (option 224).  udhcpc runs in the MN's node
with :mod:`flatmob_mn.dhcp.client_hook` as its script, never the stock
one (which would rewrite the machine's /etc/resolv.conf, shared by all
nodes), and quits once it holds a lease.
"""

from __future__ import annotations

import json
import math
import subprocess
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from flatmob_mn.dhcp import client_hook
from flatmob_mn.dhcp._process import end, owning_run, remove, write_hook
from flatmob_mn.dhcp.names import check_dns_name, check_interface
from flatmob_mn.errors import DhcpError
from flatmob_mn.runstate import RunDir

# Seconds between udhcpc's discover packets.
DISCOVER_INTERVAL = 1


@dataclass(frozen=True)
class Lease:
    """The lease an MN obtained on one interface."""

    interface: str
    ip: IPv4Address
    prefix_len: int
    router: IPv4Address | None
    server_id: IPv4Address | None
    lease_time: int
    ha_name: str | None
    obtained_at: float


@dataclass(frozen=True)
class ClientFiles:
    """Paths of the files one udhcpc run writes."""

    lease: Path
    pid: Path
    hook: Path

    @classmethod
    def inside(cls, run_dir: Path, interface: str) -> ClientFiles:
        """Return the file paths for ``interface`` in ``run_dir``."""
        return cls(
            lease=run_dir / f"lease-{interface}.json",
            pid=run_dir / f"udhcpc-{interface}.pid",
            hook=run_dir / f"udhcpc-hook-{interface}",
        )


def parse_lease(text: str) -> Lease:
    """Parse the lease the client script wrote.

    :raises DhcpError: if it is malformed or configuring it failed.
    """
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise DhcpError(f"malformed lease file: {e}") from e
    if not isinstance(obj, dict):
        raise DhcpError("malformed lease file: not a JSON object")
    if obj.get("error"):
        raise DhcpError(
            f"lease of {obj.get('ip')} on {obj.get('interface')} not "
            f"configured: {obj['error']}"
        )
    try:
        return Lease(
            interface=str(obj["interface"]),
            ip=IPv4Address(obj["ip"]),
            prefix_len=int(obj["prefix_len"]),
            router=_address(obj.get("router")),
            server_id=_address(obj.get("server_id")),
            lease_time=int(obj["lease_time"]),
            ha_name=_ha_name(obj.get("ha_name")),
            obtained_at=float(obj["obtained_at"]),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise DhcpError(f"malformed lease file: {e!r}") from e


def _address(value: str | None) -> IPv4Address | None:
    return IPv4Address(value) if value else None


def _ha_name(value: str | None) -> str | None:
    # A server may send anything in option 224: only a host name counts.
    try:
        return check_dns_name(value) if value else None
    except DhcpError:
        return None


def udhcpc_argv(
    interface: str, hostname: str, files: ClientFiles, timeout: float
) -> list[str]:
    """Return the udhcpc command for one lease on ``interface``."""
    tries = max(1, math.ceil(timeout / DISCOVER_INTERVAL))
    return [
        "busybox", "udhcpc",
        "-f",  # foreground: we wait for it
        "-q",  # quit once a lease is obtained
        "-n",  # quit if none is obtained
        "-i", interface,
        "-s", str(files.hook),
        "-p", str(files.pid),
        "-t", str(tries),
        "-T", str(DISCOVER_INTERVAL),
        "-x", f"hostname:{hostname}",
        "-O", str(client_hook.HA_OPTION),
    ]  # fmt: skip


def acquire_lease(
    node: Any,
    interface: str,
    hostname: str,
    run_dir: Path,
    timeout: float = 5.0,
    run: RunDir | None = None,
) -> Lease:
    """Obtain a lease on ``interface`` of ``node`` and configure it.

    :param node: the MN's Mininet node (anything with ``popen``).
    :param hostname: the MN's DNS name, sent in option 12.
    :param run_dir: folder for the client's files, inside a run.
    :param run: the run to record udhcpc in (found from ``run_dir``).
    :raises DhcpError: if no lease comes within ``timeout`` seconds.
    """
    check_interface(interface)
    hostname = check_dns_name(hostname, "MN host name")
    run = run or owning_run(run_dir)
    files = _prepare(Path(run_dir), interface)
    argv = udhcpc_argv(interface, hostname, files, timeout)
    popen = node.popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        run.record_process(popen.pid, f"udhcpc {interface}")
        out = _wait(popen, interface, timeout)
    finally:
        end(popen)
    if popen.returncode != 0 or not files.lease.exists():
        raise DhcpError(
            f"no lease on {interface} (udhcpc exit {popen.returncode}): "
            f"{_last_line(out)}"
        )
    return parse_lease(files.lease.read_text())


def _prepare(run_dir: Path, interface: str) -> ClientFiles:
    run_dir.mkdir(parents=True, exist_ok=True)
    files = ClientFiles.inside(run_dir, interface)
    remove(files.lease)
    write_hook(files.hook, Path(client_hook.__file__), [str(files.lease)])
    return files


def _wait(popen: subprocess.Popen, interface: str, timeout: float) -> str:
    # udhcpc gives up by itself after its tries; the margin covers the
    # script's run time.
    try:
        out, _ = popen.communicate(timeout=timeout + 2.0)
    except subprocess.TimeoutExpired as e:
        raise DhcpError(f"no lease on {interface} within {timeout} s") from e
    return out.decode(errors="replace")


def _last_line(out: str) -> str:
    lines = [line for line in out.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"
