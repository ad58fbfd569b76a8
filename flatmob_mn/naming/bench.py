"""Benchmark of the naming service: update latency, lookups, memory.

Runs Knot DNS in a Mininet node ``fnb1`` and the client in a second
node ``fnb2`` joined to it by one veth link, then measures:

- update to visible-and-validated: one MN's address set replaced by a
  TSIG-signed update, then read back (A, AAAA and order TXT, each
  validated) until the new address comes first;
- validated lookup of a public key: cold (empty cache, zone DNSKEY
  fetched too), warm (zone keys cached, one query) and cached;
- the server's resident memory.

Needs root.  ``main()`` prints the figures and returns 0.
"""

from __future__ import annotations

import argparse
import functools
import ipaddress
import os
import signal
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
)

from flatmob_mn import netns, runstate
from flatmob_mn.naming.client import Resolver, Updater
from flatmob_mn.naming.plan import Entity, build_plan
from flatmob_mn.naming.records import entity_name
from flatmob_mn.naming.server import NameServer

NS_ADDRESS = "10.231.9.1"
CLIENT_ADDRESS = "10.231.9.2"


def _spki() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _entities(mns: int, ars: int) -> list[Entity]:
    found = [Entity(entity_name("ns", 1), "ns", _spki())]
    for i in range(1, ars + 1):
        pool = ipaddress.IPv4Network(f"10.64.{i}.0/24")
        found.append(Entity(entity_name("ar", i), "ar", _spki(), pool))
    for i in range(1, mns + 1):
        found.append(Entity(entity_name("mn", i), "mn", _spki()))
    return found


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(values: Sequence[float]) -> str:
    median = statistics.median(values) * 1e3
    p90 = _percentile(values, 0.9) * 1e3
    return f"median {median:.2f} ms, p90 {p90:.2f} ms (n={len(values)})"


def _timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def measure_updates(
    updater: Updater, resolver: Resolver, name: str, count: int
) -> list[float]:
    """Return seconds from sending each update to validating its effect."""
    found = []
    for i in range(count):
        address = f"10.64.1.{i % 250 + 1}"
        start = time.perf_counter()
        updater.set_addresses(name, [address, "10.64.2.1"])
        while True:
            resolver.forget(name)
            if resolver.addresses(name)[0] == address:
                break
        found.append(time.perf_counter() - start)
    return found


def measure_lookups(
    server: NameServer, name: str, count: int
) -> dict[str, list[float]]:
    """Return cold, warm and cached validated public-key lookup times."""
    cold, warm, cached = [], [], []
    for _ in range(count):
        resolver = Resolver(server.server, server.anchors)
        lookup = functools.partial(resolver.public_key, name)
        cold.append(_timed(lookup))
        resolver.forget(f"_7410._udp.{name}")
        warm.append(_timed(lookup))
        for _ in range(100):
            cached.append(_timed(lookup))
    return {"cold": cold, "warm": warm, "cached": cached}


def _nodes(run: runstate.RunDir) -> tuple[Any, Any, list[Any]]:
    from mininet.link import Link
    from mininet.node import Node

    made: list[Any] = []
    server_node = Node("fnb1")
    made.append(server_node)
    client_node = Node("fnb2")
    made.append(client_node)
    for node in made:
        run.record_process(node.pid, f"node {node.name}")
    link = Link(server_node, client_node)
    server_node.setIP(NS_ADDRESS, 24, link.intf1)
    client_node.setIP(CLIENT_ADDRESS, 24, link.intf2)
    return server_node, client_node, made


def run_bench(mns: int, updates: int, lookups: int) -> list[str]:
    """Run the benchmark in its own run directory; return report lines."""
    run = runstate.RunDir.create(f"fnb-naming-{os.getpid()}")
    made: list[Any] = []
    server: NameServer | None = None
    try:
        server_node, client_node, made = _nodes(run)
        plan = build_plan(_entities(mns, 2), NS_ADDRESS)
        server = NameServer(plan, run)
        started = _timed(lambda: server.start(server_node, probe=client_node))
        mn = entity_name("mn", 1)
        key = plan.key(mn)
        with netns.entered(client_node.pid):
            updater = Updater(server.server, key.name, key.secret)
            resolver = Resolver(server.server, server.anchors)
            update = measure_updates(updater, resolver, mn, updates)
            looked = measure_lookups(server, mn, lookups)
        cached_us = [t * 1e6 for t in looked["cached"]]
        return [
            f"zones: {len(plan.zones)}, entities: {len(plan.entities)}",
            f"start to all zones validated: {started * 1e3:.1f} ms",
            f"update to visible and validated: {_ms(update)}",
            f"lookup cold (DNSKEY + TLSA): {_ms(looked['cold'])}",
            f"lookup warm (zone keys cached): {_ms(looked['warm'])}",
            "lookup cached: median "
            f"{statistics.median(cached_us):.1f} us, p90 "
            f"{_percentile(cached_us, 0.9):.1f} us (n={len(cached_us)})",
            f"server memory (RSS): {server.rss() / 2**20:.1f} MiB",
        ]
    finally:
        if server is not None:
            server.stop()
        for node in made:
            node.terminate()
        run.clean()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the naming benchmark and print its figures."""
    parser = argparse.ArgumentParser(
        prog="flatmob bench naming", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--mns", type=int, default=100)
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--lookups", type=int, default=50)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("flatmob bench naming: needs root (Mininet nodes)")
        return 2

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        for line in run_bench(args.mns, args.updates, args.lookups):
            print(line)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
