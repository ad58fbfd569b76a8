"""The MN agent: authenticate to whichever AR the MN is attached to.

Runs inside one MN's node (``python -m flatmob_mn.agents.mn CONFIG``).
It watches the access link's carrier: when the link comes up (first
attachment, or a move to another AR) it solicits the AR on the anycast
gateway, looks up the AR's key in DNS through the AR's relay (validated
against the trust anchors), and sends one authentication message.

- First attachment (no address yet): the message only derives the MSK;
  then the MN gets an address from the AR's pool by DHCP, with the name
  of its Home Agent, and puts the address into its own A record.
- Handoff (the MN holds addresses): the message carries the mobility
  flag and the addresses; the AR re-routes them and says which.

The agent's states and the events that move it between them are data:
``TRANSITIONS`` below, checked on every step.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from pyroute2 import IPRoute

from flatmob_mn import auth, dhcp, naming
from flatmob_mn.agents import access, config, control
from flatmob_mn.agents.events import EventLog
from flatmob_mn.agents.runtime import keystore, run_agent, updater
from flatmob_mn.errors import AgentError, FlatmobError
from flatmob_mn.naming.records import absolute, reverse_name

log = logging.getLogger(__name__)

IFF_LOWER_UP = 1 << 16
PTR_WAIT = 3.0


class State(enum.Enum):
    """Where the MN stands with its current AR."""

    DETACHED = "detached"
    SOLICITING = "soliciting"
    AUTHENTICATING = "authenticating"
    ADDRESSING = "addressing"
    ATTACHED = "attached"


class Event(enum.Enum):
    """What moves the MN agent from one state to another."""

    CARRIER_UP = "carrier up"
    CARRIER_DOWN = "carrier down"
    ADVERT = "advert"
    ACCEPTED = "accepted"
    ACCEPTED_NEW = "accepted, needs address"
    REFUSED = "refused"
    LEASED = "leased"


S, E = State, Event
TRANSITIONS: dict[tuple[State, Event], State] = {
    (S.DETACHED, E.CARRIER_UP): S.SOLICITING,
    (S.SOLICITING, E.ADVERT): S.AUTHENTICATING,
    (S.AUTHENTICATING, E.ACCEPTED): S.ATTACHED,
    (S.AUTHENTICATING, E.ACCEPTED_NEW): S.ADDRESSING,
    (S.AUTHENTICATING, E.REFUSED): S.SOLICITING,
    (S.ADDRESSING, E.LEASED): S.ATTACHED,
    **{(s, E.CARRIER_DOWN): S.DETACHED for s in State},
}


class LocalNode:
    """This process's own namespace, seen as a node that runs commands."""

    @staticmethod
    def popen(argv: list[str], **kwargs: Any) -> subprocess.Popen:
        """Start ``argv`` here."""
        return subprocess.Popen(argv, **kwargs)


class MNAgent:
    """Keep one MN authenticated and routed wherever it is attached."""

    def __init__(self, cfg: config.MNConfig) -> None:
        self.cfg = cfg
        self.dir = Path(cfg.dir)
        self.events = EventLog(self.dir / "events.jsonl", cfg.node)
        self.peer = auth.Peer(keystore(cfg))
        # Through the AR's relay: it answers on every access link.
        self.resolver = naming.Resolver(
            (access.GATEWAY, access.DNS_PORT), Path(cfg.dns.anchors_file)
        )
        self.updater = updater(cfg.dns)
        self.state = State.DETACHED
        self.addresses: list[str] = []
        self.ar: str | None = None
        self.ha_name: str | None = None
        self.attachments = 0
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        _prepare_link(cfg.interface, cfg.link_local)
        self._sock = self._open_socket()

    def _open_socket(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(
            socket.SOL_SOCKET,
            socket.SO_BINDTODEVICE,
            self.cfg.interface.encode(),
        )
        sock.setblocking(False)
        sock.bind(("0.0.0.0", 0))
        return sock

    def step(self, event: Event) -> None:
        """Apply ``event`` to the state machine.

        :raises AgentError: if ``event`` is not allowed in this state.
        """
        new = TRANSITIONS.get((self.state, event))
        if new is None:
            raise AgentError(
                f"{event.value} not expected while {self.state.value}"
            )
        log.debug("%s --%s--> %s", self.state.value, event.value, new.value)
        self.state = new

    # -- carrier ----------------------------------------------------------

    def carrier(self, up: bool) -> None:
        """React to the access link's carrier going up or down."""
        if not up and self.state is not State.DETACHED:
            self.events.write("detach", ar=self.ar)
            if self._task is not None:
                self._task.cancel()
            self.step(Event.CARRIER_DOWN)
        elif up and self.state is State.DETACHED:
            self.events.write("link_up")
            self.step(Event.CARRIER_UP)
            self._task = asyncio.ensure_future(self.attach())

    # -- attachment -------------------------------------------------------

    async def attach(self) -> None:
        """Solicit, authenticate and (first time) get an address."""
        try:
            for _ in range(self.cfg.auth_tries):
                advert = await self.solicit()
                self.step(Event.ADVERT)
                if await self.authenticate(advert):
                    break
                self.step(Event.REFUSED)
            else:
                raise AgentError("no AR accepted the authentication")
            if self.state is State.ADDRESSING:
                await asyncio.get_running_loop().run_in_executor(
                    None, self.get_address
                )
                self.step(Event.LEASED)
            self.attachments += 1
            self.last_error = None
            self.events.write("attached", ar=self.ar, addresses=self.addresses)
        except asyncio.CancelledError:
            raise
        except FlatmobError as exc:
            self.last_error = str(exc)
            self.events.write("attach_failed", reason=str(exc))
            log.warning("attachment failed: %s", exc)

    async def _exchange(
        self, data: bytes, want: access.Kind, tries: int, timeout: float
    ) -> bytes:
        loop = asyncio.get_running_loop()
        target = (access.GATEWAY, access.ACCESS_PORT)
        for _ in range(tries):
            await loop.sock_sendto(self._sock, data, target)
            try:
                while True:
                    answer = await asyncio.wait_for(
                        loop.sock_recv(self._sock, access.MAX_DATAGRAM),
                        timeout,
                    )
                    if access.kind_of(answer) is want:
                        return answer
            except TimeoutError:
                continue
        raise AgentError(f"no {want.name.lower()} from the AR")

    async def solicit(self) -> access.Advert:
        """Ask the AR on the link who it is."""
        answer = await self._exchange(
            access.frame(access.Kind.SOLICIT),
            access.Kind.ADVERT,
            self.cfg.solicit_tries,
            self.cfg.solicit_interval,
        )
        advert = access.Advert.from_bytes(answer)
        self.events.write("advert", ar=advert.ar_name)
        return advert

    async def authenticate(self, advert: access.Advert) -> bool:
        """Send one authentication message; tell whether it succeeded."""
        loop = asyncio.get_running_loop()
        public = await loop.run_in_executor(
            None, self.resolver.public_key, advert.ar_name
        )
        reroute = bool(self.addresses)
        message, session = self.peer.start(
            advert.ar_name,
            public,
            advert.nonce,
            advert.epoch,
            reroute=reroute,
            addresses=self.addresses,
        )
        self.events.write("auth_sent", ar=advert.ar_name, reroute=reroute)
        # Sent once: the AR takes a second copy for a replay.  A lost
        # message or reply is retried with a new message by attach().
        try:
            answer = await self._exchange(
                access.frame(access.Kind.AUTH, message),
                access.Kind.REPLY,
                1,
                self.cfg.auth_timeout,
            )
        except AgentError:
            self.events.write("auth_timeout", ar=advert.ar_name)
            return False
        try:
            reply = session.open_reply(answer[1:])
        except auth.AuthFailure:
            self.events.write("auth_refused", ar=advert.ar_name)
            return False
        self.events.write(
            "auth_reply",
            ar=advert.ar_name,
            success=reply.success,
            addresses=list(reply.addresses),
        )
        if not reply.success:
            return False
        self.ar = absolute(advert.ar_name)
        self.step(Event.ACCEPTED if reroute else Event.ACCEPTED_NEW)
        return True

    def get_address(self) -> None:
        """Lease an address by DHCP and publish it in the MN's A record."""
        # udhcpc quits once bound, so leases are never renewed; the 12 h
        # default lease outlasts any run.  IPv4 only: no DHCPv6 or AAAA.
        lease = dhcp.acquire_lease(
            LocalNode(),
            self.cfg.interface,
            self.cfg.name.rstrip("."),
            self.dir / "dhcp",
        )
        address = str(lease.ip)
        self.ha_name = lease.ha_name
        _route_default_from(self.cfg.interface, address)
        self.events.write("leased", address=address, ha=lease.ha_name)
        self.addresses = [address] + [
            a for a in self.addresses if a != address
        ]
        self.updater.set_addresses(self.cfg.name, self.addresses)
        self.events.write("a_record", addresses=self.addresses)
        self._await_ptr(address)

    def _await_ptr(self, address: str) -> None:
        # The AR writes the PTR when it sees the lease; a handoff checks
        # it, so the first attachment is complete only once it is there.
        deadline = time.monotonic() + PTR_WAIT
        while True:
            self.resolver.forget(reverse_name(address))
            try:
                if absolute(self.resolver.ptr(address)) == absolute(
                    self.cfg.name
                ):
                    self.events.write("ptr_seen", address=address)
                    return
            except FlatmobError:
                pass
            if time.monotonic() > deadline:
                raise AgentError(f"no PTR for {address} after {PTR_WAIT} s")
            time.sleep(0.02)

    # -- control ----------------------------------------------------------

    def control_ops(self) -> dict[str, control.Handler]:
        """Return the ops of the control socket."""

        async def status(_: dict[str, Any]) -> dict[str, Any]:
            return {
                "name": self.cfg.name,
                "state": self.state.value,
                "ar": self.ar,
                "addresses": self.addresses,
                "ha": self.ha_name,
                "attachments": self.attachments,
                "error": self.last_error,
            }

        return {"status": status}

    async def run(self) -> None:
        """Serve until cancelled."""
        loop = asyncio.get_running_loop()
        _watch_carrier(
            self.cfg.interface,
            lambda up: loop.call_soon_threadsafe(self.carrier, up),
        )
        server = await control.serve(
            self.dir / "control.sock", self.control_ops()
        )
        self.events.write("agent_ready")
        try:
            await asyncio.Event().wait()
        finally:
            server.close()
            self.events.close()


def _route_default_from(interface: str, address: str) -> None:
    # The gateway is on-link everywhere; the source must be the routed
    # address, not the link-local one used before there was any.
    with IPRoute() as ipr:
        index = ipr.link_lookup(ifname=interface)[0]
        ipr.route(
            "replace",
            dst="0.0.0.0/0",
            gateway=access.GATEWAY,
            oif=index,
            prefsrc=address,
            flags=4,
        )  # RTNH_F_ONLINK


def _prepare_link(interface: str, link_local: str) -> None:
    # The link-local address carries the MN's first exchanges, before it
    # has a routed address; the gateway's MAC is the same on every AR,
    # so its neighbour entry is permanent and survives moves.
    with IPRoute() as ipr:
        index = ipr.link_lookup(ifname=interface)[0]
        if not ipr.get_addr(index=index, address=link_local):
            ipr.addr("add", index=index, address=link_local, prefixlen=16)
        ipr.link("set", index=index, state="up")
        ipr.neigh(
            "replace",
            dst=access.GATEWAY,
            lladdr=access.GATEWAY_MAC,
            ifindex=index,
            state=0x80,
        )  # NUD_PERMANENT


def _watch_carrier(interface: str, callback: Any) -> threading.Thread:
    """Call ``callback(up)`` now and whenever the carrier changes.

    A move shows as the carrier going down and up again, and also as the
    link's peer changing namespace; should the kernel's messages show
    only the latter, the move is reported as down then up all the same.
    """

    def run() -> None:
        ipr = IPRoute()
        ipr.bind()
        index = ipr.link_lookup(ifname=interface)[0]
        last = _link_state(ipr.get_links(index)[0])
        callback(last[0])
        while True:
            for msg in ipr.get():
                if (
                    msg.get("event") != "RTM_NEWLINK"
                    or msg.get("index") != index
                ):
                    continue
                state = _link_state(msg)
                if state[0] != last[0]:
                    callback(state[0])
                elif state[0] and state[1] != last[1]:
                    callback(False)
                    callback(True)
                last = state

    thread = threading.Thread(target=run, name="carrier", daemon=True)
    thread.start()
    return thread


def _link_state(msg: Any) -> tuple[bool, object]:
    up = bool(msg["flags"] & IFF_LOWER_UP)
    peer = (msg.get_attr("IFLA_LINK_NETNSID"), msg.get_attr("IFLA_LINK"))
    return up, peer


def main(argv: list[str] | None = None) -> int:
    """Run an MN agent from its configuration file (the one argument)."""
    return run_agent(config.MNConfig, MNAgent, argv)


if __name__ == "__main__":
    sys.exit(main())
