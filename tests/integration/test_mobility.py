"""Attach and handoff on the tiny topology, with real FRR, Knot and DHCP.

Topology (topologies/tiny.toml): core1; agg1 with ar1, ar2 (pools
10.64.0.0/24, 10.64.1.0/24); agg2 with ar3, ar4.  mn1 starts on ar1 and
mn2 on ar2.  Every check of where traffic goes reads the kernels' FIBs.
"""

from __future__ import annotations

import ipaddress
import random
import socket
from pathlib import Path

import pytest

from flatmob_mn import auth, naming, netns
from flatmob_mn.agents import access
from flatmob_mn.agents.deploy import Mobility, dns_name
from flatmob_mn.agents.events import read_events
from flatmob_mn.topology.network import Network
from flatmob_mn.topology.spec import load_spec

pytestmark = pytest.mark.root

TINY = Path(__file__).parents[2] / "topologies" / "tiny.toml"


@pytest.fixture(scope="module")
def mob():
    with Network(load_spec(TINY)) as net:
        mobility = Mobility(net)
        try:
            mobility.start()
            yield mobility
        finally:
            mobility.stop()


def address_of(mob: Mobility, mn: str) -> str:
    return mob.status(mn)["addresses"][0]


def holders(mob: Mobility, address: str) -> set[str]:
    return {
        router
        for router in mob.net.routers
        if (address, "bgp") in mob.host_routes(router)
    }


def ping_from_cn(mob: Mobility, address: str) -> bool:
    out = mob.net.hosts["cn1"].cmd(f"ping -c 2 -i 0.2 -W 1 {address}")
    return " 0% packet loss" in out


def assert_converged(mob: Mobility) -> None:
    problems = mob.wait_invariant(10)
    assert problems == []


def test_first_attachment(mob):
    for mn, ar in (("mn1", "ar1"), ("mn2", "ar2")):
        status = mob.status(mn)
        address = ipaddress.ip_address(status["addresses"][0])
        assert status["state"] == "attached"
        assert status["ar"] == dns_name(ar)
        assert address in mob.net.plan.pool(ar)
        assert status["ha"] == dns_name("ha1").rstrip(".")
    resolver = ns_resolver(mob)
    with netns.entered(mob.net.hosts["ns1"].pid):
        a1 = address_of(mob, "mn1")
        assert resolver.addresses(dns_name("mn1")) == [a1]
        assert naming.records.absolute(resolver.ptr(a1)) == dns_name("mn1")
    assert_converged(mob)
    assert holders(mob, address_of(mob, "mn1")) == set()


def ns_resolver(mob: Mobility) -> naming.Resolver:
    ns = mob.nameserver
    assert ns is not None
    return naming.Resolver(ns.server, ns.build().anchors)


def test_move_inside_the_cluster(mob):
    mob.move("mn1", "ar2")
    assert_converged(mob)
    address = address_of(mob, "mn1")
    # Inside its own cluster's range: the host route stays in agg1's
    # cluster; the core keeps only the aggregate.
    assert holders(mob, address) == {"agg1", "ar1"}
    assert ping_from_cn(mob, address)


def test_move_across_clusters(mob):
    mob.move("mn1", "ar3")
    assert_converged(mob)
    address = address_of(mob, "mn1")
    assert {"core1", "agg1", "agg2", "ar1", "ar2", "ar4"} <= holders(
        mob, address
    )
    assert ping_from_cn(mob, address)


def test_return_to_the_home_cluster(mob):
    # agg1 keeps host routes inside its range from the core, so only
    # ar3's withdrawal can clear the route the core learnt before.
    mob.move("mn1", "ar2")
    assert_converged(mob)
    assert holders(mob, address_of(mob, "mn1")) == {"agg1", "ar1"}
    assert ping_from_cn(mob, address_of(mob, "mn1"))


def test_return_to_the_owning_ar(mob):
    mob.move("mn1", "ar1")
    assert_converged(mob)
    assert ping_from_cn(mob, address_of(mob, "mn1"))


def test_quick_back_and_forth(mob):
    for ar in ("ar3", "ar1", "ar3", "ar4", "ar3", "ar2"):
        mob.move("mn1", ar)
    assert_converged(mob)
    assert ping_from_cn(mob, address_of(mob, "mn1"))


def test_random_moves_keep_the_invariant(mob):
    rng = random.Random(7)
    ars = mob.net.ars
    for step in range(50):
        mn = rng.choice(["mn1", "mn2"])
        here = mob.net.access_of(mn)
        ar = rng.choice([a for a in ars if a != here])
        mob.move(mn, ar)
        problems = mob.wait_invariant(10)
        assert problems == [], f"after move {step} of {mn} to {ar}"
    for mn in ("mn1", "mn2"):
        assert ping_from_cn(mob, address_of(mob, mn))


# -- security -----------------------------------------------------------


class Access:
    """A raw access-link socket inside an MN's namespace."""

    def __init__(self, mob: Mobility, mn: str) -> None:
        node = mob.net.mns[mn]
        with netns.entered(node.pid):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(
            socket.SOL_SOCKET, socket.SO_BINDTODEVICE, f"{mn}-eth0".encode()
        )
        self.sock.settimeout(1.0)
        self.sock.bind(("0.0.0.0", 0))

    def ask(self, data: bytes) -> bytes:
        self.sock.sendto(data, (access.GATEWAY, access.ACCESS_PORT))
        return self.sock.recv(access.MAX_DATAGRAM)

    def advert(self) -> access.Advert:
        return access.Advert.from_bytes(
            self.ask(access.frame(access.Kind.SOLICIT))
        )

    def close(self) -> None:
        self.sock.close()


def keystore(mob: Mobility, node: str) -> auth.LocalKeyStore:
    return auth.LocalKeyStore.load(mob.dirs[node] / "key.pem", dns_name(node))


def handed(mob: Mobility, ar: str) -> int:
    events = read_events(mob.dirs[ar] / "events.jsonl")
    return sum(1 for e in events if e["ev"] == "route_handed")


def attempt(mob, mn, addresses, impostor=False, replay=False):
    """Send one re-route request as ``mn``; return (reply, routes handed)."""
    ar = mob.net.access_of(mn)
    before = handed(mob, ar)
    link = Access(mob, mn)
    try:
        advert = link.advert()
        if impostor:
            # mn's name without mn's private key: the MSK cannot match.
            store = auth.LocalKeyStore.generate(dns_name(mn))
        else:
            store = keystore(mob, mn)
        peer = auth.Peer(store)
        message, session = peer.start(
            advert.ar_name,
            keystore(mob, ar).public_key_der(),
            advert.nonce,
            advert.epoch,
            reroute=True,
            addresses=addresses,
        )
        frame = access.frame(access.Kind.AUTH, message)
        answer = link.ask(frame)
        if replay:
            answer = link.ask(frame)
    finally:
        link.close()
    reply = None
    if answer[1:]:
        reply = session.open_reply(answer[1:])
    return reply, handed(mob, ar) - before


def test_valid_request_then_its_replay(mob):
    own = address_of(mob, "mn2")
    reply, count = attempt(mob, "mn2", [own])
    assert reply is not None and reply.success
    assert list(reply.addresses) == [own]
    assert count == 1
    reply, count = attempt(mob, "mn2", [own], replay=True)
    # The first copy is accepted, the replayed copy gets no reply.
    assert reply is None
    assert count == 1
    assert_converged(mob)


def test_wrong_key_injects_nothing(mob):
    own = address_of(mob, "mn2")
    reply, count = attempt(mob, "mn2", [own], impostor=True)
    assert reply is None
    assert count == 0
    assert_converged(mob)


def test_address_outside_the_as_is_not_rerouted(mob):
    own = address_of(mob, "mn2")
    outside = "10.200.0.77"  # the correspondent's network, not the AS
    set_addresses(mob, "mn2", [own, outside])
    try:
        reply, count = attempt(mob, "mn2", [own, outside])
    finally:
        set_addresses(mob, "mn2", [own])
    assert reply is not None and list(reply.addresses) == [own]
    assert count == 1
    assert all(
        (outside, "bgp") not in mob.host_routes(r) for r in mob.net.routers
    )


def test_address_whose_ptr_names_another_mn(mob):
    own, other = address_of(mob, "mn2"), address_of(mob, "mn1")
    set_addresses(mob, "mn2", [own, other])
    try:
        reply, count = attempt(mob, "mn2", [other])
    finally:
        set_addresses(mob, "mn2", [own])
    assert reply is not None and not reply.success
    assert count == 0
    assert_converged(mob)


def set_addresses(mob: Mobility, mn: str, addresses: list[str]) -> None:
    plan_key = mob.nameserver.plan.key(dns_name(mn))
    updater = naming.Updater(
        mob.nameserver.server, plan_key.name, plan_key.secret, ttl=1
    )
    with netns.entered(mob.net.hosts["ns1"].pid):
        updater.set_addresses(dns_name(mn), addresses)
    # The AR caches the old record set for its TTL; start afresh.
    ar = mob.net.access_of(mn)
    mob.control(ar).call("flush")
