"""The AR agent: authenticate MNs and make the network follow them.

Runs inside one AR's node (``python -m flatmob_mn.agents.ar CONFIG``).
In: access datagrams from MNs (solicitations, authentication messages),
DHCP lease events from the AR's DHCP server, and kernel route events.
Out: replies to MNs, PTR and nonce records in DNS, /32 host routes in
the access table and in bgpd, and timestamped events for experiments.

Handoff, once an MN's message has been verified with the mobility flag:

1. look up the MN's addresses in DNS (validated) and keep those inside
   the AS's MN block (and, if the message lists addresses, only those);
2. check that each address's PTR record names the same MN;
3. route each address out of the access bridge and originate it into
   iBGP with this AR as next hop and LOCAL_PREF set to the time in
   milliseconds since the run's epoch, so that the newest attachment
   wins everywhere;
4. answer with the list of addresses that now follow the MN.

An AR stops routing an address in either of two ways, whichever comes
first:

- the MN left: its port on the access bridge went away (the link moved
  to another AR), so the AR withdraws at once;
- its route is superseded: BGP installed a /32 for the address in the
  AR's own FIB.  With the AR's own route at weight 0, only a route with
  a higher LOCAL_PREF (a newer attachment elsewhere) can get there.

The first alone matters when an MN returns to its home cluster: the
home cluster's aggregation router keeps host routes inside its range
from the cores, so the AR the MN left outside the cluster never sees
the newer route.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import sys
import time
from pathlib import Path
from typing import Any

from flatmob_mn import auth, naming
from flatmob_mn.agents import access, config, control, fib
from flatmob_mn.agents.bgp import BgpVty, HostRoutes
from flatmob_mn.agents.events import EventLog
from flatmob_mn.agents.relay import DnsRelay
from flatmob_mn.agents.runtime import keystore, run_agent, updater
from flatmob_mn.dhcp import LeaseEvents
from flatmob_mn.errors import FlatmobError
from flatmob_mn.naming.records import absolute

log = logging.getLogger(__name__)

# How long a verified first attachment may wait for its DHCP lease
# before the AR no longer writes a PTR record for it.
LEASE_BINDING_WINDOW = 30.0
LP_MAX = 2**32 - 1
LEASE_READ_TIMEOUT = 0.05
PORT_LEARN_DELAY = 0.02
PORT_LEARN_TRIES = 10


class LocalPrefClock:
    """LOCAL_PREF values from the clock: ms since an AS-wide epoch.

    Unit: one millisecond, so two moves of one MN less than a second
    apart still get ordered values; 32 bits of milliseconds last 49.7
    days from the epoch (the start of the run).  Values from one AR
    strictly increase, even within one millisecond.
    """

    def __init__(self, epoch: float, clock=time.time) -> None:
        self._epoch = epoch
        self._clock = clock
        self._last = 0

    def next(self) -> int:
        """Return the LOCAL_PREF for a route originated now."""
        now = int((self._clock() - self._epoch) * 1000)
        value = max(now, self._last + 1)
        if value > LP_MAX:
            raise FlatmobError(
                "LOCAL_PREF clock ran past 32 bits: "
                "the run is older than 49 days"
            )
        self._last = value
        return value


class ARAgent:
    """Authenticate MNs on one AR and originate their host routes."""

    def __init__(self, cfg: config.ARConfig) -> None:
        self.cfg = cfg
        self.dir = Path(cfg.dir)
        self.events = EventLog(self.dir / "events.jsonl", cfg.node)
        self.mn_block = ipaddress.ip_network(cfg.mn_block)
        self.pool = ipaddress.ip_network(cfg.pool)
        self.keystore = keystore(cfg)
        self.authenticator = auth.Authenticator(
            self.keystore, max_skew=cfg.max_skew
        )
        self.resolver = naming.Resolver(
            (cfg.dns.server, cfg.dns.port), Path(cfg.dns.anchors_file)
        )
        self.updater = updater(cfg.dns)
        self.bgp = HostRoutes(BgpVty(Path(cfg.vty_dir), cfg.node), cfg.asn)
        self.access_routes = fib.AccessRoutes(cfg.bridge)
        self.lp = LocalPrefClock(cfg.lp_epoch)
        self.serving: dict[str, str] = {}  # address -> MN name
        self.ports: dict[str, set[str]] = {}  # bridge port -> addresses
        self.link_local: dict[str, str] = {}  # address -> MN link-local
        self.recent: dict[str, float] = {}  # MN name -> verified at
        self.counts = {
            "verified": 0,
            "failed": 0,
            "rerouted": 0,
            "superseded": 0,
        }
        self._loop: asyncio.AbstractEventLoop | None = None
        self._transport: asyncio.DatagramTransport | None = None

    # -- access link ----------------------------------------------------

    def datagram(self, data: bytes, addr: Any) -> None:
        """Handle one datagram from the access link."""
        kind = access.kind_of(data)
        if kind is access.Kind.SOLICIT:
            self.events.write("solicited", source=addr[0])
            self._send(self._advert().to_bytes(), addr)
        elif kind is access.Kind.AUTH:
            t_recv = time.time_ns()
            reply, rerouted = self.authenticate(data[1:], t_recv)
            self._send(access.frame(access.Kind.REPLY, reply), addr)
            if rerouted:
                # The advert sent before made the kernel resolve the MN's
                # MAC; the bridge tells which port that MAC is behind.
                self.learn_port(rerouted, addr[0], PORT_LEARN_TRIES)

    def _advert(self) -> access.Advert:
        return access.Advert(
            self.cfg.name, self.authenticator.epoch, self.authenticator.nonce
        )

    def _send(self, data: bytes, addr: Any) -> None:
        if self._transport is not None:
            self._transport.sendto(data, addr)

    def authenticate(
        self, message: bytes, t_recv: int
    ) -> tuple[bytes, list[str]]:
        """Verify one message; re-route; return the reply and addresses.

        A message that fails verification gets an empty reply: nothing
        can authenticate an answer to an unauthenticated message.
        """
        try:
            peer, authr = self.authenticator.peek(message)
            if absolute(authr) != absolute(self.cfg.name):
                raise auth.AuthFailure()
            public = self.resolver.public_key(peer)
            verified = self.authenticator.verify(message, public)
        except (auth.AuthFailure, FlatmobError) as exc:
            self.counts["failed"] += 1
            log.info("authentication failed: %s", _why(exc))
            self.events.write("auth_failed", t_recv=t_recv, reason=_why(exc))
            return b"", []
        mn = absolute(verified.peer_name)
        self.counts["verified"] += 1
        self.events.write(
            "auth_verified", mn=mn, t_recv=t_recv, reroute=verified.reroute
        )
        if not verified.reroute:
            self.recent[mn] = time.monotonic()
            return self.authenticator.reply(verified, success=True), []
        try:
            rerouted = self.reroute(mn, verified.addresses)
        except FlatmobError as exc:
            log.warning("re-routing %s failed: %s", mn, exc)
            self.events.write("reroute_failed", mn=mn, reason=str(exc))
            return self.authenticator.reply(verified, success=False), []
        reply = self.authenticator.reply(
            verified, success=bool(rerouted), addresses=rerouted
        )
        return reply, rerouted

    def reroute(self, mn: str, asked: list[str]) -> list[str]:
        """Originate host routes for ``mn``'s checked addresses."""
        # Cold DNS lookups block the agent's loop for a few ms; fine for a
        # few MNs per AR, a worker pool is needed for many at once.
        candidates = self.resolver.addresses(mn)
        keep = []
        for address in candidates:
            if ipaddress.ip_address(address) not in self.mn_block:
                log.info(
                    "%s: %s is outside the AS, not re-routed", mn, address
                )
                continue
            if asked and address not in asked:
                continue
            owner = absolute(self.resolver.ptr(address))
            if owner != mn:
                log.warning(
                    "%s: PTR of %s names %s, not re-routed", mn, address, owner
                )
                self.events.write(
                    "ptr_mismatch", mn=mn, address=address, owner=owner
                )
                continue
            keep.append(address)
        self.events.write("dns_checked", mn=mn, addresses=keep)
        for address in keep:
            self.access_routes.add(address)
            lp = self.lp.next()
            self.bgp.originate(address, lp)
            self.serving[address] = mn
            self.events.write(
                "route_handed", mn=mn, address=address, local_pref=lp
            )
        self.counts["rerouted"] += len(keep)
        return keep

    # -- superseded routes and departed MNs ------------------------------

    def learn_port(
        self, addresses: list[str], link_local: str, tries: int
    ) -> None:
        """Note the bridge port behind which an MN's addresses sit."""
        for address in addresses:
            self.link_local[address] = link_local
        port = self.access_routes.port_of(link_local)
        if port is None:
            if tries > 1 and self._loop is not None:
                self._loop.call_later(
                    PORT_LEARN_DELAY,
                    self.learn_port,
                    addresses,
                    link_local,
                    tries - 1,
                )
            else:
                log.warning("no bridge port found for %s", link_local)
            return
        self.ports.setdefault(port, set()).update(addresses)

    def link_gone(self, ifname: str) -> None:
        """Withdraw the host routes of an MN whose access port left."""
        for address in sorted(self.ports.pop(ifname, set())):
            if address in self.serving:
                self.withdraw(address, "route_withdrawn_detach")
        # An MN that left before its port was learnt: its MAC is known
        # but no longer behind any port of the bridge.
        known = set().union(*self.ports.values()) if self.ports else set()
        for address in sorted(set(self.serving) - known):
            link_local = self.link_local.get(address)
            if link_local and self.access_routes.has_left(link_local):
                self.withdraw(address, "route_withdrawn_detach")

    def withdraw(self, address: str, why: str) -> None:
        """Stop routing ``address`` here, in the kernel and in BGP."""
        mn = self.serving.pop(address)
        self.link_local.pop(address, None)
        for held in self.ports.values():
            held.discard(address)
        self.bgp.withdraw(address)
        self.access_routes.remove(address)
        self.events.write(why, mn=mn, address=address)
        log.info("%s: host route of %s withdrawn (%s)", mn, address, why)

    def bgp_host_route(self, address: str) -> None:
        """React to BGP installing a /32 for ``address`` in our FIB."""
        if address not in self.serving:
            return
        if self.bgp.best_is_local(address):
            return  # an older route, already beaten by ours
        self.counts["superseded"] += 1
        self.withdraw(address, "route_withdrawn_superseded")

    # -- DHCP -------------------------------------------------------------

    def lease(self, event: Any) -> None:
        """Write the PTR of a new lease if its holder just authenticated."""
        if event.action not in ("add", "old"):
            return
        mn = absolute(event.hostname or "")
        verified_at = self.recent.get(mn)
        if verified_at is None:
            # Try the bare first label too: DHCP hostnames often lose
            # their domain on the way.
            mn = next(
                (
                    n
                    for n in self.recent
                    if n.split(".")[0] == (event.hostname or "")
                ),
                "",
            )
            verified_at = self.recent.get(mn)
        if verified_at is None or (
            time.monotonic() - verified_at > LEASE_BINDING_WINDOW
        ):
            log.warning(
                "lease of %s to %r: no recent authentication, no PTR written",
                event.ip,
                event.hostname,
            )
            return
        address = str(event.ip)
        if ipaddress.ip_address(address) not in self.pool:
            return
        try:
            self.updater.set_ptr(address, mn)
        except FlatmobError as exc:
            log.warning("PTR of %s for %s failed: %s", address, mn, exc)
            return
        self.events.write("ptr_written", mn=mn, address=address)

    # -- nonce epochs -----------------------------------------------------

    def publish_nonce(self) -> None:
        """Publish the current nonce with a TTL inside its epoch."""
        ttl = max(1, int(self.cfg.nonce_lifetime))
        self.updater.publish_nonce(
            self.cfg.name,
            self.authenticator.epoch,
            self.authenticator.nonce,
            ttl,
        )

    async def rotate_nonces(self) -> None:
        """Start a new nonce epoch every ``nonce_lifetime`` seconds."""
        while True:
            await asyncio.sleep(self.cfg.nonce_lifetime)
            self.authenticator.rotate()
            try:
                self.publish_nonce()
            except FlatmobError as exc:
                log.warning("nonce publication failed: %s", exc)

    # -- control ----------------------------------------------------------

    def control_ops(self) -> dict[str, control.Handler]:
        """Return the ops of the control socket."""

        async def status(_: dict[str, Any]) -> dict[str, Any]:
            return {
                "name": self.cfg.name,
                "serving": self.serving,
                "counts": self.counts,
                "epoch": self.authenticator.epoch,
            }

        async def flush(_: dict[str, Any]) -> dict[str, Any]:
            self.resolver.flush()
            return {}

        return {"status": status, "flush": flush}

    async def run(self) -> None:
        """Serve until cancelled."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        agent = self

        class Access(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: Any) -> None:
                agent.datagram(data, addr)

        self._transport, _ = await loop.create_datagram_endpoint(
            Access, local_addr=("0.0.0.0", access.ACCESS_PORT)
        )
        relay = DnsRelay((self.cfg.dns.server, self.cfg.dns.port))
        await relay.start((access.GATEWAY, access.DNS_PORT))
        fib.watch_kernel(
            lambda a: loop.call_soon_threadsafe(self.bgp_host_route, a),
            lambda i: loop.call_soon_threadsafe(self.link_gone, i),
        )
        leases = LeaseEvents(Path(self.cfg.lease_events))

        def on_lease() -> None:
            try:
                event = leases.recv(LEASE_READ_TIMEOUT)
            except FlatmobError:
                return  # a malformed datagram: nothing to do
            self.lease(event)

        loop.add_reader(leases.fileno(), on_lease)
        server = await control.serve(
            self.dir / "control.sock", self.control_ops()
        )
        self.publish_nonce()
        self.events.write("agent_ready")
        log.info("%s ready", self.cfg.name)
        try:
            await self.rotate_nonces()
        finally:
            server.close()
            relay.close()
            self.events.close()


def _why(exc: BaseException) -> str:
    if isinstance(exc, auth.AuthFailure):
        return "message did not verify"
    return str(exc)


def main(argv: list[str] | None = None) -> int:
    """Run an AR agent from its configuration file (the one argument)."""
    return run_agent(config.ARConfig, ARAgent, argv)


if __name__ == "__main__":
    sys.exit(main())
