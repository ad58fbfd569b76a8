"""The emulated flat ISP: FRR routers, hosts and mobile nodes in Mininet.

``with Network(spec) as net:`` builds every node and link, starts FRR in
each router, waits until routing has converged, runs the registered
services, and on the way out (normal exit, exception, Ctrl-C or SIGTERM)
stops services, then bgpd and ospfd, then zebra, then the node shells,
and removes the run directory.

Every router is a plain Mininet node joined to its neighbours by veth
links (no switch, no controller).  Each AR has a Linux bridge ``acc``
holding its pool's first address and the anycast gateway, with one MAC
shared by every AR; a mobile node's access link is a veth pair whose AR
end is enslaved to that bridge, and moving the MN moves only that end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from subprocess import Popen
from types import FrameType
from typing import Any

from mininet.link import Link
from mininet.node import Node

from flatmob_mn.errors import TopologyError
from flatmob_mn.frr import daemons
from flatmob_mn.frr.model import RouterConfig, render_all
from flatmob_mn.frr.vtysh import Vty
from flatmob_mn.runstate import RunDir
from flatmob_mn.topology import converge
from flatmob_mn.topology.addressing import (
    ACCESS_BRIDGE,
    ANYCAST_GATEWAY,
    ANYCAST_MAC,
    AddressPlan,
    make_plan,
)
from flatmob_mn.topology.frrconf import (
    BORDER,
    CN_HOST,
    DNS_HOST,
    interfaces,
    router_configs,
)
from flatmob_mn.topology.layout import AGG, AR, CORE, Layout, make_layout
from flatmob_mn.topology.spec import TopologySpec, default_spec

# OSPF joins two multicast groups per interface; the default of 20
# memberships per namespace stops routers with many links.
IGMP_MEMBERSHIPS = 1024

Progress = Callable[[str], None]
Service = Callable[["Network"], None]


@dataclass
class Router:
    """One FRR router: its node, its folder, its daemons."""

    name: str
    role: str
    node: Node
    dir: Path
    config: RouterConfig
    agg: str | None = None
    procs: dict[str, Popen] = field(default_factory=dict)

    @property
    def vty(self) -> Vty:
        """Return the vtysh of this router."""
        return Vty(self)


class Network:
    """A flat ISP emulated with Mininet nodes and FRR routers.

    :param spec: what to build (the built-in default when None).
    :param run_dir: where to keep files and records (a new one if None).
    :param progress: called with one line at each step of the build.
    :raises AddressPlanError: the spec's addresses do not fit, before
        anything is started.
    """

    def __init__(
        self,
        spec: TopologySpec | None = None,
        run_dir: RunDir | None = None,
        progress: Progress | None = None,
        converge_timeout: float = 120.0,
    ) -> None:
        self.spec = spec or default_spec()
        self.layout: Layout = make_layout(self.spec)
        self.plan: AddressPlan = make_plan(self.spec.addressing, self.layout)
        self._given_run = run_dir
        self.run: RunDir | None = run_dir
        self.progress = progress or (lambda line: None)
        self.converge_timeout = converge_timeout
        self.routers: dict[str, Router] = {}
        self.mns: dict[str, Node] = {}
        self.hosts: dict[str, Node] = {}
        self.emulation_notes: list[str] = []
        # Mininet's node.cmd is not thread-safe: threads that call it on
        # routers (move_access does) take this lock.
        self.lock = threading.RLock()
        self._access: dict[str, str] = {}
        self._services: list[tuple[Service, Service]] = []
        self._started_services: list[Service] = []
        self._nodes: list[Node] = []
        self.links: list[Link] = []
        self._signals: dict[int, Any] = {}
        self.timings: dict[str, float] = {}

    # -- names ---------------------------------------------------------

    @property
    def cores(self) -> list[str]:
        """Return the names of the core routers, in order."""
        return list(self.layout.cores)

    @property
    def aggs(self) -> list[str]:
        """Return the names of the aggregation routers, in order."""
        return list(self.layout.aggs)

    @property
    def ars(self) -> list[str]:
        """Return the names of the access routers, in order."""
        return list(self.layout.ars)

    # -- life cycle ----------------------------------------------------

    def __enter__(self) -> Network:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Build the network, start FRR and wait for convergence.

        On any failure or interrupt, everything started is torn down
        before the exception propagates.
        """
        self._catch_signals()
        try:
            self._build()
        except BaseException:
            # The first failure is the one to report; a service that also
            # fails to stop must not hide it.
            with contextlib.suppress(TopologyError):
                self.stop()
            raise

    def _build(self) -> None:
        began = time.monotonic()
        self.run = self._given_run or RunDir.create()
        self.progress(f"run directory {self.run.path}")
        self._make_nodes()
        self._make_links()
        self._configure_nodes()
        self.timings["build"] = time.monotonic() - began
        self.progress(f"starting FRR in {len(self.routers)} routers")
        self._start_frr()
        self.progress("routers started, waiting for convergence")
        began = time.monotonic()
        self.wait_converged(self.converge_timeout)
        self.timings["converge"] = time.monotonic() - began
        self.progress(f"converged in {self.timings['converge']:.1f} s")
        for start, stop in self._services:
            self._start_service(start, stop)

    def stop(self) -> None:
        """Tear everything down: services, bgpd and ospfd, zebra, nodes.

        :raises TopologyError: a service's stop failed (raised after the
            rest is torn down all the same).
        """
        self._hold_signals()
        try:
            failed = self._stop_services()
            routers = list(self.routers.values())
            daemons.stop(_procs(routers, ("bgpd", "ospfd")))
            daemons.stop(_procs(routers, ("zebra",)))
            for node in reversed(self._nodes):
                _terminate(node)
            self._nodes.clear()
            self.links.clear()
            if self.run is not None:
                self.run.clean()
                self.run = None
        finally:
            self._restore_signals()
        if failed:
            raise TopologyError(f"stopping services failed: {failed}")

    # -- services ------------------------------------------------------

    def add_service(self, start: Service, stop: Service) -> None:
        """Run ``start(net)`` after convergence and ``stop(net)`` first
        at teardown; started at once if the network already runs."""
        self._services.append((start, stop))
        if self.routers and self.timings.get("converge") is not None:
            self._start_service(start, stop)

    def _start_service(self, start: Service, stop: Service) -> None:
        start(self)
        self._started_services.append(stop)

    def _stop_services(self) -> list[Exception]:
        errors = []
        while self._started_services:
            stop = self._started_services.pop()
            try:
                stop(self)
            except Exception as exc:  # teardown goes on; reported below
                errors.append(exc)
        return errors

    def record(self, proc: Popen | int, label: str) -> None:
        """Record a process started in this network for ``clean``."""
        pid = proc if isinstance(proc, int) else proc.pid
        assert self.run is not None
        self.run.record_process(pid, label)

    # -- mobility ------------------------------------------------------

    def access_of(self, mn: str) -> str:
        """Return the AR that ``mn``'s access link is attached to."""
        return self._access[mn]

    def move_access(self, mn: str, ar: str) -> None:
        """Move ``mn``'s access link to ``ar``; the MN side is untouched.

        Two commands: the AR end of the veth changes namespace (about
        20 ms here, spent in the kernel), then joins ``ar``'s bridge.

        :raises TopologyError: unknown MN or AR, or the move failed.
        """
        if mn not in self.mns or ar not in self.layout.ars:
            raise TopologyError(f"cannot move {mn!r} to {ar!r}: unknown")
        with self.lock:
            old = self._access[mn]
            if old == ar:
                return
            name = f"{mn}-acc"
            src, dst = self.routers[old].node, self.routers[ar].node
            out = src.cmd(f"ip link set {name} netns {dst.pid}").strip()
            if out:
                raise TopologyError(f"moving {mn} to {ar}: {out}")
            self._access[mn] = ar
            intf = src.nameToIntf.get(name)
            if intf is not None:
                src.delIntf(intf)
                intf.node = dst
                dst.addIntf(intf, moveIntfFn=_no_move)
            out = dst.cmd(f"ip link set {name} master acc up").strip()
            if out:
                raise TopologyError(f"attaching {mn} at {ar}: {out}")

    def expected_host_route_scope(
        self, ar: str, prefix: str | IPv4Network
    ) -> set[str]:
        """Return the routers that should hold a host route from ``ar``.

        Always ``ar``'s whole cluster; beyond it, every router of the AS,
        but only when ``prefix`` lies outside that cluster's range.
        """
        agg = self.layout.agg_of(ar)
        scope = {agg, *self.layout.clusters[agg]}
        if not IPv4Network(prefix).subnet_of(self.plan.cluster(agg)):
            scope |= set(self.layout.routers())
        return scope

    # -- convergence ---------------------------------------------------

    def wait_converged(self, timeout: float = 120.0) -> None:
        """Poll FRR until every router has its neighbours and routes.

        :raises ConvergenceError: naming a router and what it misses.
        """
        converge.wait(self, timeout)

    # -- building ------------------------------------------------------

    def _add_node(self, name: str, **params: Any) -> Node:
        node = Node(name, **params)
        self._nodes.append(node)
        assert self.run is not None
        self.run.record_process(node.pid, f"{name} shell")
        return node

    def _make_nodes(self) -> None:
        assert self.run is not None
        lay = self.layout
        names = lay.routers() + (BORDER,)
        folders = {n: self.run.node_dir(n, daemons.FRR_USER) for n in names}
        configs = router_configs(self.spec, lay, self.plan, folders)
        roles = {BORDER: "border"}
        roles.update({n: CORE for n in lay.cores})
        roles.update({n: AGG for n in lay.aggs})
        roles.update({n: AR for n in lay.ars})
        for name in names:
            private = []
            for mount, sub in (
                ("/var/run/frr", "run"),
                ("/var/tmp/frr", "tmp"),
            ):
                path = folders[name] / sub
                path.mkdir(exist_ok=True)
                shutil.chown(path, daemons.FRR_USER, daemons.FRR_USER)
                private.append((mount, str(path)))
            node = self._add_node(name, privateDirs=private)
            agg = lay.agg_of(name) if roles[name] == AR else None
            self.routers[name] = Router(
                name, roles[name], node, folders[name], configs[name], agg
            )
        for name in (DNS_HOST, CN_HOST):
            self.hosts[name] = self._add_node(name)
        for name in lay.mns:
            self.mns[name] = self._add_node(name)
        self.progress(
            f"{len(self.routers)} routers, {len(self.hosts)} hosts and "
            f"{len(self.mns)} mobile nodes made"
        )

    def node(self, name: str) -> Node:
        """Return the Mininet node of any router, host or MN by name."""
        if name in self.routers:
            return self.routers[name].node
        return self.hosts.get(name) or self.mns[name]

    def _make_links(self) -> None:
        ifs = interfaces(self.layout)
        for (a, b), (ia, ib) in ifs.items():
            link = Link(self.node(a), self.node(b), intfName1=ia, intfName2=ib)
            self.links.append(link)
        for mn, ar in self.layout.homes.items():
            link = Link(
                self.mns[mn],
                self.routers[ar].node,
                intfName1=f"{mn}-eth0",
                intfName2=f"{mn}-acc",
            )
            self.links.append(link)
            self._access[mn] = ar
        self.progress(f"{len(ifs) + len(self._access)} links made")

    def _configure_nodes(self) -> None:
        batches = _address_batches(self)
        shaping = self._shaping()
        for name, lines in batches.items():
            node = self.node(name)
            assert self.run is not None
            path = self.run.node_dir(name) / "ip.batch"
            path.write_text("\n".join(lines) + "\n")
            out = node.cmd(f"ip -batch {path}")
            if out.strip():
                raise TopologyError(f"{name}: configuring links: {out}")
            if name in self.routers:
                node.cmd(_router_sysctls(name in self.layout.ars))
            for intf in shaping.get(name, []):
                out = node.cmd(intf)
                if out.strip():
                    raise TopologyError(f"{name}: shaping: {out.strip()}")

    def _shaping(self) -> dict[str, list[str]]:
        """Return tc commands per router for the spec's link emulation."""
        spec = self.spec
        if not spec.delay_ms and not spec.bandwidth_mbit:
            return {}
        netem = spec.delay_ms and self._has_netem()
        if spec.delay_ms and not netem:
            self.emulation_notes.append(
                f"link delay not emulated: netem missing "
                f"(asked {spec.delay_ms} ms)"
            )
        cmds: dict[str, list[str]] = {}
        ifs = interfaces(self.layout)
        for link in self.layout.links:
            for node, intf in zip(
                (link.a, link.b), ifs[(link.a, link.b)], strict=True
            ):
                cmds.setdefault(node, []).append(
                    _qdisc(
                        intf,
                        spec.delay_ms if netem else 0,
                        spec.bandwidth_mbit,
                    )
                )
        return {n: [c for c in v if c] for n, v in cmds.items()}

    def _has_netem(self) -> bool:
        node = next(iter(self.routers.values())).node
        out = node.cmd(
            "tc qdisc add dev lo root netem delay 1ms 2>&1 && "
            "tc qdisc del dev lo root"
        )
        return not out.strip()

    def _start_frr(self) -> None:
        for router in self.routers.values():
            for daemon, text in render_all(router.config).items():
                daemons.write_config(router.dir, daemon, text)
        for router in self.routers.values():
            self._start_daemon(router, "zebra")
        for router in self.routers.values():
            zebra = router.procs["zebra"]
            daemons.wait_socket(router.dir / "zserv.api", zebra, 30)
            for daemon in router.config.daemons[1:]:
                self._start_daemon(router, daemon)

    def _start_daemon(self, router: Router, daemon: str) -> None:
        proc = daemons.start(router.node, daemon, router.dir)
        router.procs[daemon] = proc
        self.record(proc, f"{router.name} {daemon}")

    # -- signals -------------------------------------------------------

    def _catch_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        self._signals[signal.SIGTERM] = signal.signal(
            signal.SIGTERM, _interrupt
        )

    def _hold_signals(self) -> None:
        """Let teardown finish: a second Ctrl-C must not cut it short."""
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous = signal.signal(sig, signal.SIG_IGN)
            self._signals.setdefault(sig, previous)

    def _restore_signals(self) -> None:
        for sig, handler in self._signals.items():
            signal.signal(sig, handler)
        self._signals.clear()


def _terminate(node: Node) -> None:
    """End a node's shell even if a command in it was cut short."""
    # Ctrl-C in the middle of node.cmd() leaves the shell marked busy,
    # and Mininet then refuses the commands it runs on the way out.
    node.waiting = False
    try:
        node.terminate()
    except (AssertionError, OSError):
        if node.shell is not None and node.shell.poll() is None:
            os.killpg(node.shell.pid, signal.SIGKILL)
            node.shell.wait()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SystemExit, not KeyboardInterrupt: Mininet's CLI swallows the latter
    # and would keep the lab running after SIGTERM.
    raise SystemExit(128 + signum)


def _no_move(*args: object, **kwargs: object) -> None:
    """Leave an interface where it is (it was moved already)."""


def _procs(routers: list[Router], names: tuple[str, ...]) -> list[Popen]:
    return [r.procs[n] for r in routers for n in names if n in r.procs]


def _qdisc(intf: str, delay_ms: float, rate_mbit: float) -> str:
    if delay_ms:
        rate = f" rate {rate_mbit}mbit" if rate_mbit else ""
        return f"tc qdisc add dev {intf} root netem delay {delay_ms}ms{rate}"
    if rate_mbit:
        # tbf: the burst must hold at least one MTU-sized packet per tick.
        burst = max(15000, int(rate_mbit * 1e6 / 8 / 250))
        return (
            f"tc qdisc add dev {intf} root tbf rate {rate_mbit}mbit "
            f"burst {burst} latency 50ms"
        )
    return ""


def _router_sysctls(is_ar: bool) -> str:
    """Return the shell command that tunes a router's namespace."""
    # Written to /proc/sys directly: minimal systems may lack sysctl.
    values = {
        "ipv4/ip_forward": 1,
        "ipv4/igmp_max_memberships": IGMP_MEMBERSHIPS,
        "ipv4/conf/all/rp_filter": 0,
        "ipv4/conf/default/rp_filter": 0,
    }
    cmd = "; ".join(f"echo {v} > /proc/sys/net/{k}" for k, v in values.items())
    if is_ar:
        # rp_filter off on every interface: MNs keep addresses of other
        # pools after a move.
        cmd += (
            "; for f in /proc/sys/net/ipv4/conf/*/rp_filter; "
            "do echo 0 > $f; done"
        )
    return cmd


def _address_batches(net: Network) -> dict[str, list[str]]:
    """Return the ``ip -batch`` lines that address every node."""
    plan, lay = net.plan, net.layout
    batches: dict[str, list[str]] = {}

    def add(node: str, line: str) -> None:
        batches.setdefault(node, ["link set lo up"]).append(line)

    for name in lay.routers() + (BORDER,):
        add(name, f"addr add {plan.loopback(name)}/32 dev lo")
    ifs = interfaces(lay)
    addrs = {(link.a, link.b): plan.link(link.a, link.b) for link in lay.links}
    first = lay.cores[0]
    addrs[(first, DNS_HOST)] = plan.dns_link
    addrs[(first, BORDER)] = plan.border_link
    for (a, b), (ia, ib) in ifs.items():
        if (a, b) == (BORDER, CN_HOST):
            continue
        add(a, f"addr add {addrs[(a, b)].a} dev {ia}")
        add(a, f"link set {ia} up")
        add(b, f"addr add {addrs[(a, b)].b} dev {ib}")
        add(b, f"link set {ib} up")
    ia, ib = ifs[(BORDER, CN_HOST)]
    add(BORDER, f"addr add {plan.cn_gateway} dev {ia}")
    add(BORDER, f"link set {ia} up")
    cn = IPv4Address(plan.cn_address)
    add(CN_HOST, f"addr add {cn}/{plan.correspondent.prefixlen} dev {ib}")
    add(CN_HOST, f"link set {ib} up")
    add(CN_HOST, f"route add default via {plan.cn_gateway.ip}")
    add(DNS_HOST, f"route add default via {plan.dns_link.a.ip}")
    for ar in lay.ars:
        add(ar, f"link add {ACCESS_BRIDGE} type bridge")
        add(ar, f"link set {ACCESS_BRIDGE} address {ANYCAST_MAC}")
        add(ar, f"addr add {plan.gateway(ar)} dev {ACCESS_BRIDGE}")
        add(ar, f"addr add {ANYCAST_GATEWAY} dev {ACCESS_BRIDGE}")
        add(ar, f"link set {ACCESS_BRIDGE} up")
    for mn, ar in lay.homes.items():
        add(ar, f"link set {mn}-acc master {ACCESS_BRIDGE} up")
        add(mn, f"link set {mn}-eth0 up")
    return batches
