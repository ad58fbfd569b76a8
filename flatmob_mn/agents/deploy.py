"""Bring mobility up on a running network: keys, DNS, DHCP and agents.

In: a converged :class:`~flatmob_mn.topology.network.Network`.  Out: a
key pair per MN, AR, home agent and the name server; Knot DNS on the
DNS host serving their signed keys; a DHCP server on every AR; an agent
in every AR and every MN; every MN attached to its first AR with an
address from that AR's pool.  :class:`Mobility` then moves MNs, answers
where they are and checks the no-stale-route invariant from the FIBs.

Everything started here is recorded in the run directory and stopped,
by pid, before the routers stop.
"""

from __future__ import annotations

import ipaddress
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flatmob_mn import auth, dhcp, naming
from flatmob_mn.agents import config
from flatmob_mn.agents.control import ControlClient
from flatmob_mn.agents.events import read_events
from flatmob_mn.auth import keystored
from flatmob_mn.errors import AgentError, FlatmobError
from flatmob_mn.measure import fibcheck
from flatmob_mn.naming.records import (
    KIND_AR,
    KIND_HA,
    KIND_MN,
    KIND_NS,
    entity_name,
)
from flatmob_mn.topology.addressing import ACCESS_BRIDGE

# The Home Agent is named in DNS and handed out by DHCP, but runs no
# agent: leaving the AS (HA registration and tunnelling) is not emulated.
HOME_AGENT = "ha1"
NS_HOST = "ns1"
MN_INTERFACE_SUFFIX = "-eth0"
# Records the agents write live this long in caches: long enough that a
# repeat handoff finds the MN's addresses and PTRs cached at the AR.
RECORD_TTL = 60
READY_TIMEOUT = 20.0
POLL = 0.005

Progress = Callable[[str], None]


def dns_name(node: str) -> str:
    """Return the DNS name of an emulated node (``mn3``, ``ar1``, ...)."""
    kind = node.rstrip("0123456789")
    return entity_name(kind, int(node[len(kind) :]))


@dataclass(frozen=True)
class MoveResult:
    """What one move of one MN took, from the orchestrator's side."""

    mn: str
    old_ar: str
    new_ar: str
    t_move: int  # ns, when the access link was moved
    t_attached: int  # ns, when the MN's agent reported attachment
    addresses: tuple[str, ...]


class Mobility:
    """Keys, DNS, DHCP and agents of one running network."""

    def __init__(
        self,
        net: Any,
        progress: Progress | None = None,
        lp_epoch: float | None = None,
        keystore_processes: bool = False,
    ) -> None:
        """Prepare mobility for ``net``.

        :param lp_epoch: Unix time LOCAL_PREF counts from (now if None).
        :param keystore_processes: keep every agent's private key in a
            key store process of its own, reached over a Unix socket, so
            that no agent holds a private key in its memory.
        """
        self.net = net
        self.keystore_processes = keystore_processes
        self.keystores: dict[str, subprocess.Popen] = {}
        self.progress = progress or (lambda line: None)
        self.lp_epoch = float(int(lp_epoch or time.time()))
        self.nameserver: naming.NameServer | None = None
        self.dhcp: dict[str, Any] = {}
        self.agents: dict[str, subprocess.Popen] = {}
        self.dirs: dict[str, Path] = {}

    # -- life cycle ----------------------------------------------------

    def start(self) -> None:
        """Start DNS, DHCP and every agent; attach every MN."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        net = self.net
        for name in [*net.ars, *net.mns, HOME_AGENT, NS_HOST]:
            self.dirs[name] = net.run.node_dir(name)
        self.progress("generating keys and zones")
        plan = naming.build_plan(self._entities(), str(net.plan.dns_address))
        self.nameserver = naming.NameServer(plan, net.run, folder=NS_HOST)
        self.progress("starting the name server")
        self.nameserver.start(net.hosts[NS_HOST])
        self.progress("starting DHCP servers and AR agents")
        for ar in net.ars:
            self._start_dhcp(ar)
            self._start_agent(ar, self._ar_config(ar, plan))
        for ar in net.ars:
            self._wait_ready(ar)
        self.progress("starting MN agents; first attachments")
        for mn in net.mns:
            self._start_agent(mn, self._mn_config(mn, plan))
        for mn in net.mns:
            self._wait_attached(mn, 0, READY_TIMEOUT)

    def stop(self) -> None:
        """Stop agents, DHCP servers and the name server, by pid."""
        for proc in self.agents.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.agents.values():
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.agents.clear()
        for process in self.keystores.values():
            keystored.stop(process)
        self.keystores.clear()
        for server in self.dhcp.values():
            server.stop()
        self.dhcp.clear()
        if self.nameserver is not None:
            self.nameserver.stop()

    # -- building blocks -------------------------------------------------

    def _entities(self) -> list[naming.Entity]:
        entities = []
        kinds = [(ar, KIND_AR) for ar in self.net.ars]
        kinds += [(mn, KIND_MN) for mn in self.net.mns]
        kinds += [(HOME_AGENT, KIND_HA), (NS_HOST, KIND_NS)]
        for node, kind in kinds:
            store = auth.LocalKeyStore.generate(dns_name(node))
            store.save(self.dirs[node] / "key.pem")
            pool = self.net.plan.pool(node) if kind == KIND_AR else None
            entities.append(
                naming.Entity(
                    dns_name(node), kind, store.public_key_der(), pool
                )
            )
        return entities

    def _dns(self, node: str, plan: naming.NamingPlan) -> config.DnsAccess:
        assert self.nameserver is not None
        key = plan.key(dns_name(node))
        return config.DnsAccess(
            server=plan.ns_address,
            port=plan.port,
            anchors_file=str(self.nameserver.build().anchors),
            tsig_name=key.name,
            tsig_secret=key.secret_b64,
        )

    def _ar_config(self, ar: str, plan: naming.NamingPlan) -> config.ARConfig:
        router = self.net.routers[ar]
        return config.ARConfig(
            name=dns_name(ar),
            node=ar,
            asn=self.net.spec.asn,
            bridge=ACCESS_BRIDGE,
            pool=str(self.net.plan.pool(ar)),
            mn_block=str(self.net.plan.mn_block),
            dns=self._dns(ar, plan),
            key_file=str(self.dirs[ar] / "key.pem"),
            keystore_socket=self._keystore(ar),
            vty_dir=str(router.dir),
            dir=str(self.dirs[ar]),
            ha_name=dns_name(HOME_AGENT),
            lease_events=str(self.dirs[ar] / "leases.sock"),
            lp_epoch=self.lp_epoch,
        )

    def _mn_config(self, mn: str, plan: naming.NamingPlan) -> config.MNConfig:
        index = int(mn.removeprefix("mn"))
        return config.MNConfig(
            name=dns_name(mn),
            node=mn,
            interface=mn + MN_INTERFACE_SUFFIX,
            link_local=f"169.254.{100 + index // 250}.{1 + index % 250}",
            dns=self._dns(mn, plan),
            key_file=str(self.dirs[mn] / "key.pem"),
            keystore_socket=self._keystore(mn),
            dir=str(self.dirs[mn]),
        )

    def _keystore(self, node_name: str) -> str | None:
        """Start ``node_name``'s key store process; return its socket."""
        if not self.keystore_processes:
            return None
        path = self.dirs[node_name] / "keystore.sock"
        self.keystores[node_name] = keystored.spawn(
            self.dirs[node_name] / "key.pem",
            dns_name(node_name),
            path,
            self.net.run,
        )
        return str(path)

    def _start_dhcp(self, ar: str) -> None:
        cfg = dhcp.DhcpServerConfig(
            ar=ar,
            interface=ACCESS_BRIDGE,
            pool=self.net.plan.pool(ar),
            gateway=self.net.plan.gateway(ar).ip,
            ha_name=dns_name(HOME_AGENT).rstrip("."),
            event_socket=self.dirs[ar] / "leases.sock",
            run_dir=self.dirs[ar] / "dhcp",
        )
        server = dhcp.DhcpServer(cfg)
        server.start(self.net.routers[ar].node)
        self.dhcp[ar] = server

    def _start_agent(self, node_name: str, cfg: Any) -> None:
        path = self.dirs[node_name] / "agent.json"
        config.save(cfg, path)
        kind = "ar" if isinstance(cfg, config.ARConfig) else "mn"
        node = (
            self.net.routers[node_name].node
            if kind == "ar"
            else self.net.mns[node_name]
        )
        log = open(self.dirs[node_name] / "agent.out", "ab")
        proc = node.popen(
            [sys.executable, "-m", f"flatmob_mn.agents.{kind}", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        log.close()
        self.agents[node_name] = proc
        self.net.run.record_process(proc.pid, f"{kind} agent {node_name}")

    def control(self, node_name: str) -> ControlClient:
        """Return a client of a node's agent."""
        return ControlClient(self.dirs[node_name] / "control.sock")

    def _wait_ready(self, node_name: str) -> dict[str, Any]:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            proc = self.agents[node_name]
            if proc.poll() is not None:
                raise AgentError(
                    f"{node_name}: agent exited ({proc.returncode}); see "
                    f"{self.dirs[node_name] / 'agent.out'}"
                )
            try:
                return self.control(node_name).call("status")
            except AgentError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)

    def _wait_attached(
        self, mn: str, after: int, timeout: float
    ) -> dict[str, Any]:
        self._wait_ready(mn)
        deadline = time.monotonic() + timeout
        client = self.control(mn)
        while True:
            status = client.call("status")
            if status["state"] == "attached" and status["attachments"] > after:
                return status
            if time.monotonic() > deadline:
                recent = read_events(self.dirs[mn] / "events.jsonl")[-5:]
                raise AgentError(
                    f"{mn} did not attach within {timeout:.0f} s: state "
                    f"{status['state']}, last error {status['error']}, "
                    f"last events {[e['ev'] for e in recent]}"
                )
            time.sleep(POLL)

    # -- mobility ----------------------------------------------------------

    def status(self, mn: str) -> dict[str, Any]:
        """Return what an MN's agent says of itself."""
        if mn not in self.net.mns:
            raise AgentError(
                f"no mobile node {mn!r}; have {', '.join(self.net.mns)}"
            )
        return self.control(mn).call("status")

    def move(self, mn: str, ar: str, timeout: float = 15.0) -> MoveResult:
        """Move ``mn`` to ``ar`` and wait until its agent has attached.

        :raises FlatmobError: unknown names, or no attachment in time.
        """
        before = self.status(mn)
        old = self.net.access_of(mn)
        if ar not in self.net.ars:
            raise AgentError(
                f"no access router {ar!r}; have {', '.join(self.net.ars)}"
            )
        t_move = time.time_ns()
        self.net.move_access(mn, ar)
        if old == ar:
            return MoveResult(
                mn, old, ar, t_move, t_move, tuple(before["addresses"])
            )
        status = self._wait_attached(mn, before["attachments"], timeout)
        if naming.records.absolute(status["ar"]) != dns_name(ar):
            raise AgentError(f"{mn} attached to {status['ar']}, not {ar}")
        return MoveResult(
            mn, old, ar, t_move, time.time_ns(), tuple(status["addresses"])
        )

    def where(self) -> dict[str, str]:
        """Return every MN address and the AR its MN is attached to."""
        out = {}
        for mn in self.net.mns:
            for address in self.status(mn)["addresses"]:
                out[address] = self.net.access_of(mn)
        return out

    def check_invariant(self) -> list[str]:
        """Return every violation of the no-stale-route invariant."""
        where = self.where()
        fibs = self.read_fibs(list(where))
        scope = {
            a: self.net.expected_host_route_scope(ar, f"{a}/32")
            for a, ar in where.items()
        }
        return fibcheck.check(fibs, where, scope)

    def read_fibs(self, addresses: list[str]) -> dict[str, Any]:
        """Read every router's FIB entries for ``addresses``."""
        block = str(self.net.plan.mn_block)
        return {
            name: fibcheck.read_fib(name, router.node, addresses, block)
            for name, router in self.net.routers.items()
        }

    def wait_invariant(self, timeout: float = 10.0) -> list[str]:
        """Wait until the invariant holds; return what still fails."""
        deadline = time.monotonic() + timeout
        while True:
            problems = self.check_invariant()
            if not problems or time.monotonic() > deadline:
                return problems
            time.sleep(0.1)

    def host_routes(self, router: str) -> list[tuple[str, str]]:
        """Return the MN host routes in ``router``'s FIB and their kind."""
        if router not in self.net.routers:
            raise FlatmobError(f"no router {router!r}")
        fib = fibcheck.read_fib(
            router,
            self.net.routers[router].node,
            [],
            str(self.net.plan.mn_block),
        )
        rows = [
            (a, "access")
            for a in sorted(fib.access_routes, key=ipaddress.ip_address)
        ]
        rows += [
            (a, "bgp")
            for a in sorted(fib.bgp_host_routes, key=ipaddress.ip_address)
        ]
        return rows
