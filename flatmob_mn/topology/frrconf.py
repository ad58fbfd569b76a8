"""Map a layout and its address plan to each router's FRR model.

Routing design (one AS, iBGP between loopbacks, OSPF underneath):

- cores: full iBGP mesh among themselves, route reflectors for the
  aggregation routers (cluster id = router id);
- aggregation routers: route reflectors for their ARs with their own
  cluster id; towards the cores they send their cluster aggregate
  (``aggregate-address`` without ``summary-only``, so clients still get
  every more-specific) and an outbound prefix list suppresses the
  more-specifics of their own range, while host routes outside that
  range pass upwards;
- ARs originate their pool; AR-to-AR peer links carry OSPF only;
- core1 talks eBGP to bdr1, passes bdr1's prefix into iBGP with
  next-hop-self, and announces to bdr1 only the MN block and the
  services block (both kept out of iBGP by a prefix list).
"""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

from flatmob_mn.frr.model import (
    BgpConfig,
    Neighbor,
    OspfConfig,
    OspfInterface,
    PeerGroup,
    PrefixEntry,
    PrefixList,
    RouterConfig,
)
from flatmob_mn.topology.addressing import AddressPlan
from flatmob_mn.topology.layout import Layout
from flatmob_mn.topology.spec import TopologySpec

BORDER = "bdr1"
DNS_HOST = "ns1"
CN_HOST = "cn1"
ANY = IPv4Network("0.0.0.0/0")


def interfaces(layout: Layout) -> dict[tuple[str, str], tuple[str, str]]:
    """Return both interface names of every link, keyed by its ends.

    Router links come first, in layout order; then core1's links to ns1
    and bdr1, and bdr1's link to cn1.
    """
    ports: dict[str, int] = {}

    def name(node: str) -> str:
        n = ports.get(node, 0)
        ports[node] = n + 1
        return f"{node}-eth{n}"

    pairs = [(link.a, link.b) for link in layout.links]
    first = layout.cores[0]
    pairs += [(first, DNS_HOST), (first, BORDER), (BORDER, CN_HOST)]
    return {(a, b): (name(a), name(b)) for a, b in pairs}


def router_configs(
    spec: TopologySpec,
    layout: Layout,
    plan: AddressPlan,
    log_dirs: dict[str, Path],
) -> dict[str, RouterConfig]:
    """Return the FRR model of every router, bdr1 included."""
    ifs = interfaces(layout)
    configs = {}
    for router in layout.routers():
        configs[router] = RouterConfig(
            hostname=router,
            log_dir=log_dirs[router],
            ospf=_ospf(router, layout, plan, ifs),
            bgp=_bgp(router, spec, layout, plan),
        )
    configs[BORDER] = RouterConfig(
        hostname=BORDER,
        log_dir=log_dirs[BORDER],
        bgp=_border_bgp(spec, plan),
        daemons=("zebra", "bgpd"),
    )
    return configs


def _ospf(
    router: str,
    layout: Layout,
    plan: AddressPlan,
    ifs: dict[tuple[str, str], tuple[str, str]],
) -> OspfConfig:
    names = [OspfInterface("lo", passive=True)]
    for link in layout.links:
        if router in (link.a, link.b):
            pair = ifs[(link.a, link.b)]
            names.append(OspfInterface(pair[0 if router == link.a else 1]))
    if router == layout.cores[0]:
        dns_if = ifs[(router, DNS_HOST)][0]
        names.append(OspfInterface(dns_if, passive=True))
    return OspfConfig(plan.loopback(router), tuple(names))


def _ibgp(name: str, asn: int, **kwargs: object) -> PeerGroup:
    return PeerGroup(name, asn, **kwargs)  # type: ignore[arg-type]


def _bgp(
    router: str, spec: TopologySpec, layout: Layout, plan: AddressPlan
) -> BgpConfig:
    lo = plan.loopback
    if router in layout.cores:
        return _core_bgp(router, spec, layout, plan)
    if router in layout.aggs:
        return _agg_bgp(router, spec, layout, plan)
    agg = layout.agg_of(router)
    return BgpConfig(
        asn=spec.asn,
        router_id=lo(router),
        groups=(_ibgp("AGG", spec.asn),),
        neighbors=(Neighbor(lo(agg), "AGG"),),
        networks=(plan.pool(router),),
    )


def _uplinks(layout: Layout, agg: str) -> list[str]:
    return [
        link.a
        for link in layout.links
        if link.b == agg and link.a in layout.cores
    ]


def _core_bgp(
    router: str, spec: TopologySpec, layout: Layout, plan: AddressPlan
) -> BgpConfig:
    lo = plan.loopback
    groups = [_ibgp("CORE", spec.asn), _ibgp("AGG", spec.asn, rr_client=True)]
    neighbors = [Neighbor(lo(c), "CORE") for c in layout.cores if c != router]
    neighbors += [
        Neighbor(lo(a), "AGG")
        for a in layout.aggs
        if router in _uplinks(layout, a)
    ]
    if not neighbors or router != layout.cores[0]:
        return BgpConfig(
            asn=spec.asn,
            router_id=lo(router),
            groups=tuple(groups),
            neighbors=tuple(neighbors),
        )
    # core1 also speaks to bdr1: it originates the MN and services blocks
    # for bdr1 only, and hands bdr1's routes to iBGP with next-hop-self.
    internal = PrefixList(
        "IBGP-OUT",
        (
            PrefixEntry(5, "deny", plan.mn_block),
            PrefixEntry(10, "deny", plan.services),
            PrefixEntry(15, "permit", ANY, le=32),
        ),
    )
    external = PrefixList(
        "TO-BORDER",
        (
            PrefixEntry(5, "permit", plan.mn_block),
            PrefixEntry(10, "permit", plan.services),
        ),
    )
    groups = [
        _ibgp(
            "CORE", spec.asn, next_hop_self=True, prefix_list_out="IBGP-OUT"
        ),
        _ibgp(
            "AGG",
            spec.asn,
            rr_client=True,
            next_hop_self=True,
            prefix_list_out="IBGP-OUT",
        ),
        PeerGroup(
            "BORDER",
            spec.border_asn,
            update_source=None,
            prefix_list_out="TO-BORDER",
        ),
    ]
    neighbors.append(Neighbor(plan.border_address, "BORDER"))
    return BgpConfig(
        asn=spec.asn,
        router_id=lo(router),
        groups=tuple(groups),
        neighbors=tuple(neighbors),
        networks=(plan.mn_block, plan.services),
        prefix_lists=(internal, external),
    )


def _agg_bgp(
    router: str, spec: TopologySpec, layout: Layout, plan: AddressPlan
) -> BgpConfig:
    lo = plan.loopback
    cluster = plan.cluster(router)
    to_core = PrefixList(
        "TO-CORE",
        (
            PrefixEntry(5, "permit", cluster),
            PrefixEntry(10, "deny", cluster, le=32),
            PrefixEntry(15, "permit", ANY, le=32),
        ),
    )
    groups = (
        _ibgp("CORE", spec.asn, prefix_list_out="TO-CORE"),
        _ibgp("AR", spec.asn, rr_client=True),
    )
    neighbors = [Neighbor(lo(c), "CORE") for c in _uplinks(layout, router)]
    neighbors += [Neighbor(lo(a), "AR") for a in layout.clusters[router]]
    return BgpConfig(
        asn=spec.asn,
        router_id=lo(router),
        cluster_id=lo(router),
        groups=groups,
        neighbors=tuple(neighbors),
        aggregates=(cluster,),
        prefix_lists=(to_core,),
    )


def _border_bgp(spec: TopologySpec, plan: AddressPlan) -> BgpConfig:
    return BgpConfig(
        asn=spec.border_asn,
        router_id=plan.loopback(BORDER),
        groups=(PeerGroup("CORE", spec.asn, update_source=None),),
        neighbors=(Neighbor(plan.border_link.a.ip, "CORE"),),
        networks=(plan.correspondent,),
    )
