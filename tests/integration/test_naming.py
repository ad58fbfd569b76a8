"""Knot DNS in a Mininet node: signed zones, validation and updates."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from flatmob_mn import netns, runstate
from flatmob_mn.naming import (
    Entity,
    NameServer,
    NoRecord,
    Resolver,
    ServerUnreachable,
    Updater,
    UpdateRefused,
    build_plan,
    delv_check,
    read_key_file,
)
from flatmob_mn.naming.records import tlsa_owner

pytestmark = pytest.mark.root

NS_ADDRESS = "10.231.0.1"
CLIENT_ADDRESS = "10.231.0.2"
POOL1 = ipaddress.IPv4Network("10.64.3.0/24")
POOL2 = ipaddress.IPv4Network("10.64.4.0/24")


def _spki(seed: int) -> bytes:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        PublicFormat,
    )

    key = ec.derive_private_key(seed, ec.SECP256R1())
    return key.public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )


ENTITIES = [
    Entity("ns1.isp.flatmob.test.", "ns", _spki(1)),
    Entity("ar1.isp.flatmob.test.", "ar", _spki(2), POOL1),
    Entity("ar2.isp.flatmob.test.", "ar", _spki(3), POOL2),
    Entity("ha1.isp.flatmob.test.", "ha", _spki(4)),
    Entity("mn1.mn.flatmob.test.", "mn", _spki(5)),
    Entity("mn2.mn.flatmob.test.", "mn", _spki(6)),
]


@dataclass
class Setup:
    """A running server in fn1, a client node fn2 and their plan."""

    server: NameServer
    ns_node: object
    client_node: object

    def resolver(self, **kwargs) -> Resolver:
        """Return a fresh validating resolver for the server."""
        return Resolver(self.server.server, self.server.anchors, **kwargs)

    def updater(self, name: str) -> Updater:
        """Return an updater signing with ``name``'s key."""
        key = self.server.plan.key(name)
        return Updater(self.server.server, key.name, key.secret)


@contextmanager
def _running(algorithm: str = "ecdsap256sha256") -> Iterator[Setup]:
    from mininet.link import Link
    from mininet.node import Node

    run = runstate.RunDir.create(f"fn-naming-{time.monotonic_ns()}")
    nodes = []
    try:
        fn1 = Node("fn1")
        nodes.append(fn1)
        fn2 = Node("fn2")
        nodes.append(fn2)
        run.record_process(fn1.pid, "node fn1")
        run.record_process(fn2.pid, "node fn2")
        link = Link(fn1, fn2)
        fn1.setIP(NS_ADDRESS, 24, link.intf1)
        fn2.setIP(CLIENT_ADDRESS, 24, link.intf2)
        fn1.cmd("ip link set lo up")
        plan = build_plan(ENTITIES, NS_ADDRESS, algorithm=algorithm)
        server = NameServer(plan, run)
        server.start(fn1)
        try:
            with netns.entered(fn2.pid):
                yield Setup(server, fn1, fn2)
        finally:
            server.stop()
    finally:
        for node in nodes:
            node.terminate()
        run.clean()


@pytest.fixture
def setup() -> Iterator[Setup]:
    with _running() as running:
        yield running


def test_zones_validate_with_delv(setup: Setup) -> None:
    anchors = setup.server.files.anchors
    node = setup.client_node
    server = setup.server.server
    for origin in (
        "isp.flatmob.test.",
        "mn.flatmob.test.",
        "3.64.10.in-addr.arpa.",
        "4.64.10.in-addr.arpa.",
    ):
        assert delv_check(server, anchors, origin, "SOA", node=node)
    assert delv_check(
        server, anchors, tlsa_owner("ar1.isp.flatmob.test."), "TLSA", node=node
    )
    assert not delv_check(
        server, anchors, "mn9.mn.flatmob.test.", "A", node=node
    )


def test_resolver_reads_keys(setup: Setup) -> None:
    resolver = setup.resolver()
    for entity in ENTITIES:
        assert resolver.public_key(entity.name) == entity.spki
    with pytest.raises(NoRecord, match="mn9.mn.flatmob.test"):
        resolver.public_key("mn9.mn.flatmob.test.")
    # An empty non-terminal and a name below an existing one.
    with pytest.raises(NoRecord, match="no such record type"):
        resolver.lookup("_udp.mn1.mn.flatmob.test.", "TXT")
    with pytest.raises(NoRecord, match="no such name"):
        resolver.lookup("x.mn1.mn.flatmob.test.", "A")


def test_key_files_hold_each_nodes_key(setup: Setup) -> None:
    for entity in ENTITIES[1:]:
        path = setup.server.key_file(entity.name)
        assert path.stat().st_mode & 0o777 == 0o600
        assert read_key_file(path) == setup.server.plan.key(entity.name)
    key = read_key_file(setup.server.key_file("mn2.mn.flatmob.test."))
    updater = Updater(setup.server.server, key.name, key.secret)
    updater.set_addresses("mn2.mn.flatmob.test.", ["10.64.3.99"])
    assert setup.resolver().addresses("mn2.mn.flatmob.test.") == ["10.64.3.99"]


def test_ed25519_zones_validate() -> None:
    with _running("ed25519") as running:
        anchors = running.server.anchors
        assert {k.algorithm for keys in anchors.values() for k in keys} == {15}
        assert running.resolver().public_key("ar2.isp.flatmob.test.") == (
            ENTITIES[2].spki
        )
        assert delv_check(
            running.server.server,
            running.server.files.anchors,
            "mn.flatmob.test.",
            "SOA",
            node=running.client_node,
        )


def test_mn_update_appears_signed(setup: Setup) -> None:
    updater = setup.updater("mn1.mn.flatmob.test.")
    resolver = setup.resolver()
    updater.set_addresses("mn1.mn.flatmob.test.", ["10.64.3.7"])
    updater.add_address("mn1.mn.flatmob.test.", "10.64.4.9")
    updater.add_address("mn1.mn.flatmob.test.", "2001:db8::5")
    start = time.monotonic()
    addresses = resolver.addresses("mn1.mn.flatmob.test.")
    assert time.monotonic() - start < 1.0
    assert addresses == ["2001:db8::5", "10.64.4.9", "10.64.3.7"]
    anchors = setup.server.files.anchors
    assert delv_check(
        setup.server.server,
        anchors,
        "mn1.mn.flatmob.test.",
        "AAAA",
        node=setup.client_node,
    )


def test_ar_ptr_and_nonce(setup: Setup) -> None:
    updater = setup.updater("ar1.isp.flatmob.test.")
    resolver = setup.resolver()
    updater.set_ptr("10.64.3.7", "mn1.mn.flatmob.test.")
    assert resolver.ptr("10.64.3.7") == "mn1.mn.flatmob.test."
    updater.delete_ptr("10.64.3.7")
    resolver.flush()
    with pytest.raises(NoRecord, match="7.3.64.10.in-addr.arpa"):
        resolver.ptr("10.64.3.7")

    updater.publish_nonce("ar1.isp.flatmob.test.", 1, b"n" * 16, 30)
    updater.publish_nonce("ar1.isp.flatmob.test.", 2, b"m" * 16, 30)
    updater.publish_nonce("ar1.isp.flatmob.test.", 3, b"o" * 16, 30)
    assert resolver.nonce("ar1.isp.flatmob.test.") == (3, b"o" * 16)
    txt = resolver.lookup("_nonce.ar1.isp.flatmob.test.", "TXT")
    assert len(txt) == 2  # the current and the previous epoch


def _snapshot(resolver: Resolver) -> dict[str, str]:
    names = {
        "mn2.mn.flatmob.test.": "A",
        "9.4.64.10.in-addr.arpa.": "PTR",
        "ar1.isp.flatmob.test.": "PTR",
        tlsa_owner("mn1.mn.flatmob.test."): "TLSA",
        tlsa_owner("ar1.isp.flatmob.test."): "TLSA",
        "_nonce.ar2.isp.flatmob.test.": "TXT",
    }
    resolver.flush()
    found = {}
    for name, rdtype in names.items():
        try:
            found[name] = resolver.lookup(name, rdtype).to_text()
        except NoRecord:
            found[name] = "none"
    return found


def test_forbidden_updates_change_nothing(setup: Setup) -> None:
    resolver = setup.resolver()
    setup.updater("mn2.mn.flatmob.test.").set_addresses(
        "mn2.mn.flatmob.test.", ["10.64.4.20"]
    )
    before = _snapshot(resolver)
    mn1 = setup.updater("mn1.mn.flatmob.test.")
    ar1 = setup.updater("ar1.isp.flatmob.test.")
    ha1 = setup.updater("ha1.isp.flatmob.test.")
    attempts = [
        lambda: mn1.set_addresses("mn2.mn.flatmob.test.", ["10.64.3.66"]),
        lambda: ar1.set_ptr("10.64.4.9", "mn1.mn.flatmob.test."),
        lambda: ar1.publish_nonce("ar2.isp.flatmob.test.", 1, b"x", 9),
        lambda: ha1.publish_nonce("ar1.isp.flatmob.test.", 1, b"x", 9),
        lambda: _touch_tlsa(mn1, "mn1.mn.flatmob.test."),
        lambda: _touch_tlsa(ar1, "ar1.isp.flatmob.test."),
        lambda: _touch_tlsa(ha1, "ha1.isp.flatmob.test."),
        lambda: ar1.set_ptr("192.0.2.1", "ar1.isp.flatmob.test."),
        lambda: _add(ar1, "ar1.isp.flatmob.test.", "PTR", "x.test."),
    ]
    for attempt in attempts:
        with pytest.raises(UpdateRefused):
            attempt()
    assert _snapshot(resolver) == before


def _touch_tlsa(updater: Updater, name: str) -> None:
    owner = tlsa_owner(name)
    update = updater._update(__import__("dns.name").name.from_text(owner))
    update.replace(owner, 60, "TLSA", "3 1 0 00")
    updater._send(update)


def _add(updater: Updater, name: str, rdtype: str, text: str) -> None:
    import dns.name

    update = updater._update(dns.name.from_text(name))
    update.add(name, 60, rdtype, text)
    updater._send(update)


def test_dead_server_is_bounded(setup: Setup) -> None:
    setup.server.stop()
    resolver = setup.resolver(timeout=0.2, retries=1)
    start = time.monotonic()
    with pytest.raises(ServerUnreachable, match="after 2 tries"):
        resolver.public_key("mn1.mn.flatmob.test.")
    assert time.monotonic() - start < 1.0
    key = setup.server.plan.key("mn1.mn.flatmob.test.")
    updater = Updater(
        setup.server.server, key.name, key.secret, timeout=0.2, retries=1
    )
    start = time.monotonic()
    with pytest.raises(ServerUnreachable):
        updater.set_addresses("mn1.mn.flatmob.test.", ["10.64.3.1"])
    assert time.monotonic() - start < 1.0
