"""dnsmasq as the DHCP server on an AR's access bridge.

One dnsmasq runs inside each AR node, answers DHCP on the access bridge
only and serves no DNS.  Its configuration is rendered from
:class:`DhcpServerConfig` through one template; every file it writes
(leases, pid, log) lies in the run directory the caller gives.  Each
lease event runs :mod:`flatmob_mn.dhcp.lease_hook`, which tells the AR
agent through a Unix datagram socket.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import jinja2

from flatmob_mn.dhcp import lease_hook
from flatmob_mn.dhcp._process import (
    MAX_SOCKET_PATH,
    end,
    owning_run,
    remove,
    write_hook,
)
from flatmob_mn.dhcp.names import check_dns_name, check_interface
from flatmob_mn.errors import DhcpError
from flatmob_mn.runstate import RunDir
from flatmob_mn.topology import addressing

# The gateway every AR answers for on its access bridge: MNs keep it as
# their default router wherever they move.
ANYCAST_GATEWAY = addressing.ANYCAST_GATEWAY.ip
DEFAULT_LEASE_TIME = 12 * 3600
# dnsmasq raises shorter lease times to two minutes.
MIN_LEASE_TIME = 120

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,
)


@dataclass(frozen=True)
class ServerFiles:
    """Paths of the files one dnsmasq reads and writes."""

    conf: Path
    leases: Path
    pid: Path
    log: Path
    hook: Path
    stderr: Path

    @classmethod
    def inside(cls, run_dir: Path) -> ServerFiles:
        """Return the file paths of a server kept in ``run_dir``."""
        return cls(
            conf=run_dir / "dnsmasq.conf",
            leases=run_dir / "dnsmasq.leases",
            pid=run_dir / "dnsmasq.pid",
            log=run_dir / "dnsmasq.log",
            hook=run_dir / "dnsmasq-lease-hook",
            stderr=run_dir / "dnsmasq.stderr",
        )


@dataclass(frozen=True)
class DhcpServerConfig:
    """What one AR's DHCP server hands out, and where it keeps files.

    :param ar: name of the AR.
    :param interface: the AR's access bridge, the only one served.
    :param pool: the AR's pool; ``gateway`` is never leased.
    :param gateway: the AR's own address in the pool.
    :param ha_name: DNS name of the MNs' HA, sent in option 224.
    :param event_socket: Unix datagram socket of the AR agent.
    :param run_dir: folder for every file the server writes.
    :param router: sent in option 3; the anycast gateway.
    :param lease_time: lease time in seconds.
    :param log_dhcp: log every DHCP exchange in detail.
    :raises DhcpError: if the values do not fit together.
    """

    ar: str
    interface: str
    pool: IPv4Network
    gateway: IPv4Address
    ha_name: str
    event_socket: Path
    run_dir: Path
    router: IPv4Address = ANYCAST_GATEWAY
    lease_time: int = DEFAULT_LEASE_TIME
    log_dhcp: bool = False
    files: ServerFiles = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            pool = IPv4Network(self.pool)
            gateway = IPv4Address(self.gateway)
            router = IPv4Address(self.router)
        except ValueError as e:
            raise DhcpError(f"AR {self.ar}: {e}") from e
        self._set("pool", pool)
        self._set("gateway", gateway)
        self._set("router", router)
        self._set("ha_name", check_dns_name(self.ha_name, "HA name"))
        self._set("interface", check_interface(self.interface))
        self._set("event_socket", Path(self.event_socket))
        self._set("run_dir", Path(self.run_dir))
        self._set("files", ServerFiles.inside(self.run_dir))
        self._check()

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def _check(self) -> None:
        if self.pool.prefixlen > 30:
            raise DhcpError(
                f"AR {self.ar}: pool {self.pool} is too small: it needs "
                "room for the gateway and one MN (a /30 at least)"
            )
        if self.gateway not in self.pool or self.gateway in (
            self.pool.network_address,
            self.pool.broadcast_address,
        ):
            raise DhcpError(
                f"AR {self.ar}: gateway {self.gateway} is not a host "
                f"address of pool {self.pool}"
            )
        if self.lease_time < MIN_LEASE_TIME:
            raise DhcpError(
                f"AR {self.ar}: lease time {self.lease_time} s is below "
                f"dnsmasq's minimum of {MIN_LEASE_TIME} s"
            )
        if len(str(self.event_socket)) > MAX_SOCKET_PATH:
            raise DhcpError(
                f"AR {self.ar}: event socket path {self.event_socket} "
                f"is longer than {MAX_SOCKET_PATH} bytes"
            )

    def ranges(self) -> list[tuple[IPv4Address, IPv4Address]]:
        """Return the address ranges leased: the pool's hosts but one."""
        first = self.pool.network_address + 1
        last = self.pool.broadcast_address - 1
        gw = self.gateway
        spans = [(first, gw - 1), (gw + 1, last)]
        return [(a, b) for a, b in spans if a <= b]

    def lease_max(self) -> int:
        """Return how many leases the pool holds at once."""
        return self.pool.num_addresses - 3


@dataclass(frozen=True)
class LeaseRecord:
    """One line of dnsmasq's lease file."""

    expires: int
    mac: str
    ip: IPv4Address
    hostname: str | None
    client_id: str | None


def render_dnsmasq(cfg: DhcpServerConfig) -> str:
    """Return the dnsmasq configuration for ``cfg``."""
    template = _TEMPLATES.get_template("dnsmasq.conf.j2")
    return template.render(
        cfg=cfg,
        ranges=cfg.ranges(),
        lease_max=cfg.lease_max(),
        files=cfg.files,
    )


def dnsmasq_argv(cfg: DhcpServerConfig) -> list[str]:
    """Return the command that runs dnsmasq on ``cfg``'s configuration.

    ``--conf-file`` keeps dnsmasq from reading /etc/dnsmasq.conf.
    """
    return [
        "dnsmasq",
        "--keep-in-foreground",
        f"--conf-file={cfg.files.conf}",
    ]


def parse_leases(text: str) -> list[LeaseRecord]:
    """Parse dnsmasq's lease file: ``expires mac ip hostname client-id``.

    :raises DhcpError: on a malformed line.
    """
    records = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("duid "):
            continue
        fields = line.split()
        try:
            expires, mac, ip, hostname, client_id = fields
            record = LeaseRecord(
                expires=int(expires),
                mac=mac.lower(),
                ip=IPv4Address(ip),
                hostname=None if hostname == "*" else hostname,
                client_id=None if client_id == "*" else client_id,
            )
        except ValueError as e:
            raise DhcpError(f"malformed dnsmasq lease: {line!r}") from e
        records.append(record)
    return records


class DhcpServer:
    """One dnsmasq serving an AR's access bridge inside the AR's node."""

    def __init__(
        self, cfg: DhcpServerConfig, run: RunDir | None = None
    ) -> None:
        self.cfg = cfg
        self._run = run
        self._popen: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        """Return dnsmasq's pid while it runs."""
        return self._popen.pid if self._popen else None

    def start(self, node: Any, timeout: float = 5.0) -> None:
        """Start dnsmasq in ``node`` and wait until it serves.

        :param node: a Mininet node (anything with ``popen``).
        :raises DhcpError: if dnsmasq does not start.
        """
        if self._popen is not None:
            raise DhcpError(f"AR {self.cfg.ar}: DHCP server already runs")
        run = self._run or owning_run(self.cfg.run_dir)
        files = self.cfg.files
        self._prepare(files)
        with open(files.stderr, "wb") as stderr:
            self._popen = node.popen(
                dnsmasq_argv(self.cfg),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        try:
            run.record_process(self._popen.pid, f"dnsmasq {self.cfg.ar}")
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _prepare(self, files: ServerFiles) -> None:
        self.cfg.run_dir.mkdir(parents=True, exist_ok=True)
        for path in (files.pid, files.leases):
            remove(path)
        files.conf.write_text(render_dnsmasq(self.cfg))
        hook_args = [str(self.cfg.event_socket), self.cfg.ar]
        write_hook(files.hook, Path(lease_hook.__file__), hook_args)

    def _wait_ready(self, timeout: float) -> None:
        # dnsmasq writes its pid file after binding its DHCP socket.
        assert self._popen is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._popen.poll() is not None:
                raise DhcpError(
                    f"AR {self.cfg.ar}: dnsmasq exited at start: "
                    f"{self._stderr()}"
                )
            if self._pid_file() == self._popen.pid:
                return
            time.sleep(0.01)
        raise DhcpError(
            f"AR {self.cfg.ar}: dnsmasq not ready within {timeout} s"
        )

    def _pid_file(self) -> int | None:
        try:
            return int(self.cfg.files.pid.read_text())
        except (OSError, ValueError):
            return None

    def _stderr(self) -> str:
        try:
            text = self.cfg.files.stderr.read_text().strip()
        except OSError:
            text = ""
        return text or "(no message)"

    def running(self) -> bool:
        """Tell whether dnsmasq runs."""
        return self._popen is not None and self._popen.poll() is None

    def stop(self, grace: float = 3.0) -> None:
        """Stop dnsmasq (by its pid) and wait until it has exited."""
        if self._popen is not None:
            end(self._popen, grace)
            self._popen = None

    def __enter__(self) -> DhcpServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def leases(self) -> list[LeaseRecord]:
        """Return the leases dnsmasq holds, from its lease file."""
        try:
            text = self.cfg.files.leases.read_text()
        except FileNotFoundError:
            return []
        return parse_leases(text)
