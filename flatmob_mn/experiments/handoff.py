"""The handoff experiment: move MNs around and measure what follows.

``flatmob run handoff`` builds the topology, brings mobility up, starts
UDP probes (1,000 a second to every MN) and one paced TCP flow from the
correspondent node behind the border router, then carries out a
schedule of moves drawn from the seed.  Netlink watchers in every
router record each kernel FIB change of the MNs' host routes.  After
each move the no-stale-route invariant is checked from every FIB.

Results go to ``results/<run-id>/``: ``manifest.json``, ``moves.jsonl``
(one record per move), ``events.jsonl`` (every raw event),
``tcp.json``, ``summary.json`` and the plots.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flatmob_mn import __version__
from flatmob_mn.agents.deploy import Mobility, dns_name
from flatmob_mn.agents.events import read_events
from flatmob_mn.experiments import analysis
from flatmob_mn.experiments.schedule import PlannedMove, make_schedule
from flatmob_mn.experiments.traffic import Traffic
from flatmob_mn.measure.fibwatch import FibWatch
from flatmob_mn.measure.probe import read_records
from flatmob_mn.measure.summary import format_table, write_summary

# Probes flow this long before each move, so that the gap has a start.
SETTLE = 0.25
# Longest wait for the invariant after a move.
CONVERGE_TIMEOUT = 10.0

Progress = Callable[[str], None]


@dataclass(frozen=True)
class HandoffConfig:
    """What one run of the experiment does."""

    moves: int = 40
    seed: int = 1
    probe_rate: float = 1000.0
    tcp_rate: float = 100.0  # chunks of 1,000 bytes a second
    keystore_processes: bool = False


def versions() -> dict[str, str]:
    """Return the versions of every component the run depends on."""
    out = {
        "flatmob_mn": __version__,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }
    commands = {
        "frr": ["/usr/lib/frr/zebra", "--version"],
        "knot": ["knotd", "--version"],
        "dnsmasq": ["dnsmasq", "--version"],
        "busybox": ["busybox"],
    }
    for name, argv in commands.items():
        try:
            text = subprocess.run(
                argv, capture_output=True, text=True, timeout=5
            ).stdout
            out[name] = text.splitlines()[0].strip() if text else "?"
        except (OSError, subprocess.TimeoutExpired):
            out[name] = "not found"
    from importlib import metadata

    for package in (
        "cryptography",
        "dnspython",
        "pyroute2",
        "matplotlib",
        "mininet",
    ):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "not found"
    return out


class HandoffRun:
    """One run of the handoff experiment on a running network."""

    def __init__(
        self,
        net: Any,
        cfg: HandoffConfig,
        out: Path,
        progress: Progress | None = None,
    ) -> None:
        self.net = net
        self.cfg = cfg
        self.out = out
        self.progress = progress or (lambda line: None)
        self.mobility = Mobility(
            net,
            progress=self.progress,
            keystore_processes=cfg.keystore_processes,
        )
        self.performed: list[analysis.Performed] = []

    def run(self, bar: Callable[[int], Any] | None = None) -> int:
        """Carry out the experiment; return the number of failed moves."""
        self.mobility.start()
        try:
            return self._measure(bar)
        finally:
            self.mobility.stop()

    def _measure(self, bar: Callable[[int], Any] | None) -> int:
        schedule = self._schedule()
        watch = FibWatch(
            {n: r.node.pid for n, r in self.net.routers.items()},
            str(self.net.plan.mn_block),
        )
        watch.start()
        traffic = Traffic(
            self.net, self.mobility, self.cfg.probe_rate, self.cfg.tcp_rate
        )
        try:
            traffic.start()
            ticks = bar(len(schedule)) if bar else None
            for planned in schedule:
                self._move(planned)
                if ticks is not None:
                    ticks.update(1)
            time.sleep(SETTLE)
        finally:
            traffic.stop()
            watch.stop()
            if ticks is not None:
                ticks.close()
        return self._write(watch, traffic)

    def _schedule(self) -> list[PlannedMove]:
        net = self.net
        where = {mn: net.access_of(mn) for mn in net.mns}
        owner = {}
        for mn in net.mns:
            address = self.mobility.status(mn)["addresses"][0]
            owner[mn] = next(
                ar for ar in net.ars if _in(address, net.plan.pool(ar))
            )
        cluster_of = {ar: net.routers[ar].agg for ar in net.ars}
        return make_schedule(
            self.cfg.moves, self.cfg.seed, where, owner, net.ars, cluster_of
        )

    def _move(self, planned: PlannedMove) -> None:
        time.sleep(SETTLE)
        old = self.net.access_of(planned.mn)
        result = self.mobility.move(planned.mn, planned.new_ar)
        problems = self.mobility.wait_invariant(CONVERGE_TIMEOUT)
        self.performed.append(
            analysis.Performed(
                index=planned.index,
                mn=planned.mn,
                type=planned.type,
                old_ar=old,
                new_ar=planned.new_ar,
                new_cluster=self.net.routers[planned.new_ar].agg,
                addresses=result.addresses,
                t_move=result.t_move,
                t_checked=(checked := time.time_ns()),
                t_end=checked,  # until the next move: set in _write
                problems=tuple(problems),
            )
        )

    def _write(self, watch: FibWatch, traffic: Traffic) -> int:
        # Each move's window lasts until the next move, the last one's
        # until the probes stopped.
        ends = [m.t_move for m in self.performed[1:]] + [traffic.stopped]
        self.performed = [
            dataclasses.replace(move, t_end=end)
            for move, end in zip(self.performed, ends, strict=True)
        ]
        changes = watch.snapshot()
        dirs = self.mobility.dirs
        events = {
            n: read_events(dirs[n] / "events.jsonl")
            for n in [*self.net.ars, *self.net.mns]
        }
        arrivals = {
            mn: [(s, t) for s, _, t in read_records(traffic.probe_file(mn))]
            for mn in self.net.mns
        }
        clusters = {
            agg: {
                agg,
                *[a for a in self.net.ars if self.net.routers[a].agg == agg],
            }
            for agg in self.net.aggs
        }
        failed = 0
        with open(self.out / "moves.jsonl", "w") as f:
            for move in self.performed:
                rec = analysis.record(
                    move,
                    events[move.mn],
                    events[move.new_ar],
                    changes,
                    arrivals[move.mn],
                    clusters,
                    dns_name(move.mn),
                )
                failed += not rec["invariant_ok"]
                f.write(json.dumps(rec) + "\n")
        with open(self.out / "events.jsonl", "w") as f:
            for node_events in events.values():
                for event in node_events:
                    f.write(json.dumps(event) + "\n")
            for change in changes:
                f.write(
                    json.dumps({"ev": "fib", **dataclasses.asdict(change)})
                    + "\n"
                )
        (self.out / "tcp.json").write_text(json.dumps(traffic.tcp_result()))
        return failed


def _in(address: str, pool: Any) -> bool:
    import ipaddress

    return ipaddress.ip_address(address) in pool


def write_manifest(
    out: Path, spec: Any, cfg: HandoffConfig, notes: list[str]
) -> None:
    """Write what the run was: spec, seed, settings and versions."""
    manifest = {
        "run_id": out.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join(sys.argv),
        "topology": dataclasses.asdict(spec),
        "seed": cfg.seed,
        "moves": cfg.moves,
        "mns": spec.mobile_nodes,
        "probe_rate": cfg.probe_rate,
        "tcp_rate": cfg.tcp_rate,
        "versions": versions(),
        "emulation_notes": notes,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))


def finish(out: Path, progress: Progress) -> dict[str, Any]:
    """Write the summary and the plots; print the summary table."""
    from flatmob_mn.plot import plot_all

    summary = write_summary(out)
    for line in format_table(summary).splitlines():
        print(line)
    for path in plot_all(out):
        progress(f"wrote {path}")
    return summary
