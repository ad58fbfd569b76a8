"""Benchmark of the AR agent's own work on a handoff.

Builds the tiny topology, moves one MN back and forth between ARs and
reads the ARs' event records: for each handoff, the time from the
authentication message's arrival to the host route handed to bgpd,
split into verification, DNS checks and route hand-over.  The first
visit of the MN to an AR finds the AR's DNS cache cold; later visits
within the records' TTL find it warm.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from flatmob_mn.agents.deploy import Mobility, dns_name
from flatmob_mn.agents.events import read_events

TINY = Path(__file__).resolve().parents[2] / "topologies" / "tiny.toml"
ROUTE = ("ar1", "ar2", "ar3")


def _stages(events: list[dict], mn: str) -> list[tuple[float, ...]]:
    out: list[tuple[float, ...]] = []
    pending: dict[str, int] = {}
    for event in events:
        if event.get("mn") != mn:
            continue
        if event["ev"] == "auth_verified" and event.get("reroute"):
            pending = {"recv": event["t_recv"], "verified": event["t"]}
        elif event["ev"] == "dns_checked" and "verified" in pending:
            pending["dns"] = event["t"]
        elif event["ev"] == "route_handed" and "dns" in pending:
            p = pending
            out.append(
                (
                    (event["t"] - p["recv"]) / 1e6,
                    (p["verified"] - p["recv"]) / 1e6,
                    (p["dns"] - p["verified"]) / 1e6,
                    (event["t"] - p["dns"]) / 1e6,
                )
            )
            pending = {}
    return out


def _line(name: str, rows: list[tuple[float, ...]]) -> str:
    if not rows:
        return f"{name:6} no handoffs"
    cols = list(zip(*rows, strict=True))
    med = [statistics.median(c) for c in cols]
    worst = sorted(cols[0])[max(0, int(len(cols[0]) * 0.9) - 1)]
    return (
        f"{name:6} n={len(rows):3}  total p50 {med[0]:6.2f} ms  "
        f"p90 {worst:6.2f} ms  (verify {med[1]:.2f}, DNS "
        f"{med[2]:.2f}, route {med[3]:.2f})"
    )


def main(argv: list[str] | None = None) -> int:
    """Print the AR agent's handoff cost with a cold and a warm cache."""
    parser = argparse.ArgumentParser(prog="flatmob bench agent")
    parser.add_argument("--moves", type=int, default=30)
    args = parser.parse_args(argv)
    from flatmob_mn.topology.network import Network
    from flatmob_mn.topology.spec import load_spec

    with Network(load_spec(TINY)) as net:
        mob = Mobility(net)
        try:
            mob.start()
            for i in range(args.moves):
                mob.move("mn1", ROUTE[(i + 1) % len(ROUTE)])
            cold, warm = [], []
            for ar in net.ars:
                rows = _stages(
                    read_events(mob.dirs[ar] / "events.jsonl"),
                    dns_name("mn1"),
                )
                cold += rows[:1]
                warm += rows[1:]
        finally:
            mob.stop()
    print(
        "*** AR agent: authentication message received to host route "
        "handed to bgpd"
    )
    print(_line("cold", cold))
    print(_line("warm", warm))
    return 0
