"""Benchmark the topology: build time, convergence time and memory.

Memory is the resident set size of each router's FRR daemons summed per
router, read from ``/proc/<pid>/status`` (VmRSS) once converged.  RSS
counts shared library pages in full in every process; the proportional
set size (``/proc/<pid>/smaps_rollup``, Pss) is printed beside it as the
share each router really adds.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flatmob_mn.topology.network import Network
from flatmob_mn.topology.spec import TopologySpec, default_spec

TARGET_CONVERGE_S = 60.0
TARGET_RSS_MB = 40.0


@dataclass(frozen=True)
class BenchResult:
    """Figures measured on one topology."""

    ars: int
    routers: int
    build_s: float
    converge_s: float
    teardown_s: float
    rss_mb: dict[str, float]
    pss_mb: dict[str, float]

    @property
    def rss_mean(self) -> float:
        """Return the mean RSS per router in MB."""
        return statistics.mean(self.rss_mb.values())

    @property
    def rss_max(self) -> tuple[str, float]:
        """Return the router with the largest RSS and its RSS in MB."""
        name = max(self.rss_mb, key=self.rss_mb.__getitem__)
        return name, self.rss_mb[name]


def _proc_field(path: str, key: str) -> float:
    try:
        text = Path(path).read_text()
    except OSError:
        return 0.0
    for line in text.splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_mb(pid: int) -> float:
    """Return the resident set size of ``pid`` in MB (0 if gone)."""
    return _proc_field(f"/proc/{pid}/status", "VmRSS:")


def pss_mb(pid: int) -> float:
    """Return the proportional set size of ``pid`` in MB (0 if gone)."""
    return _proc_field(f"/proc/{pid}/smaps_rollup", "Pss:")


def spec_with_ars(ars: int, base: TopologySpec | None = None) -> TopologySpec:
    """Return the default shape scaled to ``ars`` ARs, 4 per cluster."""
    base = base or default_spec()
    aggs = max(1, ars // base.ars_per_agg)
    return dataclasses.replace(
        base, name=f"bench-{ars}", aggs=aggs, mobile_nodes=0
    )


def measure(
    spec: TopologySpec, progress: Callable[[str], None] | None = None
) -> BenchResult:
    """Build ``spec``, wait for convergence, measure, tear down."""
    began = time.monotonic()
    net = Network(spec, progress=progress)
    with net:
        rss = _per_router(net, rss_mb)
        pss = _per_router(net, pss_mb)
        stopping = time.monotonic()
    teardown = time.monotonic() - stopping
    total = time.monotonic() - began
    converge = net.timings["converge"]
    return BenchResult(
        ars=spec.ar_count,
        routers=len(rss),
        build_s=total - converge - teardown,
        converge_s=converge,
        teardown_s=teardown,
        rss_mb=rss,
        pss_mb=pss,
    )


def _per_router(
    net: Network, read: Callable[[int], float]
) -> dict[str, float]:
    return {
        name: sum(read(p.pid) for p in router.procs.values())
        for name, router in net.routers.items()
    }


def report(result: BenchResult) -> list[str]:
    """Return the lines that describe one result, with the targets."""
    name, biggest = result.rss_max
    conv_ok = result.converge_s < TARGET_CONVERGE_S
    rss_ok = result.rss_mean < TARGET_RSS_MB
    pss_mean = statistics.mean(result.pss_mb.values())
    pss_max = max(result.pss_mb.values())
    return [
        f"{result.ars} ARs, {result.routers} routers",
        f"  build (nodes, links, FRR start): {result.build_s:.1f} s",
        f"  convergence: {result.converge_s:.1f} s "
        f"(target < {TARGET_CONVERGE_S:.0f} s: "
        f"{'met' if conv_ok else 'MISSED'})",
        f"  teardown: {result.teardown_s:.1f} s",
        f"  RSS per router: mean {result.rss_mean:.1f} MB (target < "
        f"{TARGET_RSS_MB:.0f} MB: {'met' if rss_ok else 'MISSED'}), max "
        f"{biggest:.1f} MB ({name})",
        f"  PSS per router: mean {pss_mean:.1f} MB, max {pss_max:.1f} MB",
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the topology benchmark and print its figures."""
    parser = argparse.ArgumentParser(prog="flatmob bench topology")
    parser.add_argument(
        "--ars",
        type=int,
        nargs="+",
        default=[16, 64],
        help="numbers of ARs to measure (default: 16 64)",
    )
    args = parser.parse_args(argv)
    for ars in args.ars:
        print(f"*** measuring {ars} ARs")
        result = measure(spec_with_ars(ars))
        for line in report(result):
            print(f"*** {line}")
    return 0
