"""Layout: the routers, hosts and links a spec describes, before building.

Names: cores ``core1..``, aggregation routers ``agg1..``, ARs ``ar1..``
numbered across clusters (``agg1`` serves ``ar1..arK``, ``agg2`` the next
K, ...), the border router ``bdr1``, the DNS host ``ns1``, the
correspondent host ``cn1`` and the mobile nodes ``mn1..``.
"""

from __future__ import annotations

from dataclasses import dataclass

from flatmob_mn.topology.spec import TopologySpec

CORE, AGG, AR, BORDER = "core", "agg", "ar", "border"


@dataclass(frozen=True)
class LinkSpec:
    """One point-to-point link between two routers."""

    a: str
    b: str
    kind: str  # "uplink", "core", "peer"


@dataclass(frozen=True)
class Layout:
    """Names and links of one topology, derived from a spec."""

    cores: tuple[str, ...]
    aggs: tuple[str, ...]
    ars: tuple[str, ...]
    clusters: dict[str, tuple[str, ...]]
    links: tuple[LinkSpec, ...]
    mns: tuple[str, ...]
    homes: dict[str, str]

    def agg_of(self, ar: str) -> str:
        """Return the aggregation router whose cluster holds ``ar``."""
        for agg, ars in self.clusters.items():
            if ar in ars:
                return agg
        raise KeyError(ar)

    def routers(self) -> tuple[str, ...]:
        """Return the routers of the AS, cores first, then aggs, then ARs."""
        return self.cores + self.aggs + self.ars


def make_layout(spec: TopologySpec) -> Layout:
    """Return the layout of ``spec``."""
    cores = tuple(f"core{i}" for i in range(1, spec.cores + 1))
    aggs = tuple(f"agg{i}" for i in range(1, spec.aggs + 1))
    ars = tuple(f"ar{i}" for i in range(1, spec.ar_count + 1))
    per = spec.ars_per_agg
    clusters = {
        agg: ars[k * per : (k + 1) * per] for k, agg in enumerate(aggs)
    }
    links: list[LinkSpec] = []
    for i, a in enumerate(cores):
        links += [LinkSpec(a, b, "core") for b in cores[i + 1 :]]
    for k, agg in enumerate(aggs):
        ups = cores if spec.homing == "dual" else (cores[k % len(cores)],)
        links += [LinkSpec(core, agg, "uplink") for core in ups]
    for agg, members in clusters.items():
        links += [LinkSpec(agg, ar, "uplink") for ar in members]
    links += [LinkSpec(a, b, "peer") for a, b in _peers(spec, clusters)]
    mns = tuple(f"mn{i}" for i in range(1, spec.mobile_nodes + 1))
    homes = {mn: ars[i % len(ars)] for i, mn in enumerate(mns)}
    return Layout(cores, aggs, ars, clusters, tuple(links), mns, homes)


def _peers(
    spec: TopologySpec, clusters: dict[str, tuple[str, ...]]
) -> list[tuple[str, str]]:
    """Return AR pairs to join: the explicit ones, then generated ones.

    Generated links cross cluster borders: the last ARs of one cluster
    are joined to the first ARs of the next one, round the ring.
    """
    pairs: list[tuple[str, str]] = []
    seen: set[frozenset[str]] = set()

    def add(a: str, b: str) -> None:
        key = frozenset((a, b))
        if a != b and key not in seen:
            seen.add(key)
            pairs.append((a, b))

    for a, b in spec.ar_peer_links:
        add(a, b)
    groups = list(clusters.values())
    per = spec.ars_per_agg
    limit = len(groups) * per
    made = 0
    for k in range(limit):
        if made >= spec.ar_peer_count:
            break
        c = k % len(groups)
        i = k // len(groups)
        before = len(pairs)
        add(groups[c][per - 1 - i], groups[(c + 1) % len(groups)][i])
        made += len(pairs) - before
    return pairs
