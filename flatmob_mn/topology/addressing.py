"""Address plan: pools, cluster aggregates, loopbacks and link subnets.

Everything is computed from the spec and its layout, with no side
effect::

    mn_block 10.64.0.0/16
    +-- cluster of agg1  10.64.0.0/22   (power-of-two block of pools)
    |   +-- pool of ar1  10.64.0.0/24   (byte-aligned, so reverse zones
    |   +-- pool of ar2  10.64.1.0/24    line up with in-addr.arpa labels)
    +-- cluster of agg2  10.64.4.0/22
    ...
    loopbacks  10.255.0.0/20  one /32 per router
    links      10.254.0.0/16  one /31 (or /30) per point-to-point link
    services   10.253.0.0/24  ns1's link to core1, bdr1's link to core1
    correspondent 10.200.0.0/24  behind bdr1, outside the AS

The anycast gateway 169.254.0.1/16 is the same on every AR.
"""

from __future__ import annotations

import ipaddress
import itertools
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from flatmob_mn.errors import AddressPlanError
from flatmob_mn.topology.layout import Layout
from flatmob_mn.topology.spec import Addressing

ANYCAST_GATEWAY = IPv4Interface("169.254.0.1/16")
ANYCAST_MAC = "02:fb:00:00:00:01"
# The bridge on every AR that holds the access links and the gateway.
ACCESS_BRIDGE = "acc"


@dataclass(frozen=True)
class LinkAddresses:
    """The subnet of one point-to-point link and both ends' addresses."""

    net: IPv4Network
    a: IPv4Interface
    b: IPv4Interface


@dataclass(frozen=True)
class AddressPlan:
    """Every address of one topology."""

    mn_block: IPv4Network
    pools: dict[str, IPv4Network]
    clusters: dict[str, IPv4Network]
    loopbacks: dict[str, IPv4Address]
    links: dict[tuple[str, str], LinkAddresses]
    services: IPv4Network
    dns_link: LinkAddresses
    border_link: LinkAddresses
    correspondent: IPv4Network

    def pool(self, ar: str) -> IPv4Network:
        """Return the pool of access router ``ar``."""
        return self.pools[ar]

    def cluster(self, agg: str) -> IPv4Network:
        """Return the aggregate of aggregation router ``agg``'s cluster."""
        return self.clusters[agg]

    def loopback(self, router: str) -> IPv4Address:
        """Return the loopback address of ``router``."""
        return self.loopbacks[router]

    def gateway(self, ar: str) -> IPv4Interface:
        """Return the first address of ``ar``'s pool, on its bridge."""
        pool = self.pools[ar]
        return IPv4Interface(f"{pool.network_address + 1}/{pool.prefixlen}")

    def link(self, a: str, b: str) -> LinkAddresses:
        """Return the addresses of the link between ``a`` and ``b``."""
        return self.links[(a, b)]

    @property
    def dns_address(self) -> IPv4Address:
        """Return the address of the DNS host ns1."""
        return self.dns_link.b.ip

    @property
    def border_address(self) -> IPv4Address:
        """Return bdr1's address on its link to core1."""
        return self.border_link.b.ip

    @property
    def cn_gateway(self) -> IPv4Interface:
        """Return bdr1's address on the correspondent's network."""
        net = self.correspondent
        return IPv4Interface(f"{net.network_address + 1}/{net.prefixlen}")

    @property
    def cn_address(self) -> IPv4Address:
        """Return the address of the correspondent host cn1."""
        return self.correspondent.network_address + 2

    def cluster_of(self, address: IPv4Address | IPv4Network) -> str | None:
        """Return the aggregation router whose range holds ``address``."""
        net = ipaddress.ip_network(address)
        for agg, cluster in self.clusters.items():
            if net.subnet_of(cluster):  # type: ignore[arg-type]
                return agg
        return None


def make_plan(addressing: Addressing, layout: Layout) -> AddressPlan:
    """Compute the address plan of ``layout``.

    :raises AddressPlanError: a block overlaps another, pools do not fit
        the MN block, pools are not byte-aligned, or a block is too small.
    """
    blocks = {
        "mn_block": _net(addressing.mn_block, "mn_block"),
        "loopbacks": _net(addressing.loopbacks, "loopbacks"),
        "links": _net(addressing.links, "links"),
        "services": _net(addressing.services, "services"),
        "correspondent": _net(addressing.correspondent, "correspondent"),
        "anycast gateway": ANYCAST_GATEWAY.network,
    }
    _check_overlaps(blocks)
    pools, clusters = _pools(
        blocks["mn_block"], addressing.pool_prefix, layout
    )
    routers = layout.routers() + ("bdr1",)
    loopbacks = _loopbacks(blocks["loopbacks"], routers)
    pairs = [(link.a, link.b) for link in layout.links]
    links = _links(blocks["links"], addressing.link_prefix, pairs)
    dns_link, border_link = _services(blocks["services"])
    if blocks["correspondent"].prefixlen > 30:
        raise AddressPlanError(
            f"correspondent block {blocks['correspondent']} is too small "
            f"for bdr1 and cn1 (need /30 or larger)"
        )
    return AddressPlan(
        mn_block=blocks["mn_block"],
        pools=pools,
        clusters=clusters,
        loopbacks=loopbacks,
        links=links,
        services=blocks["services"],
        dns_link=dns_link,
        border_link=border_link,
        correspondent=blocks["correspondent"],
    )


def _net(text: str, name: str) -> IPv4Network:
    try:
        return IPv4Network(text)
    except ValueError as exc:
        raise AddressPlanError(
            f"{name} block {text!r} is not an IPv4 network: {exc}"
        ) from exc


def _check_overlaps(blocks: dict[str, IPv4Network]) -> None:
    names = list(blocks)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if blocks[a].overlaps(blocks[b]):
                raise AddressPlanError(
                    f"{a} block {blocks[a]} overlaps {b} block {blocks[b]}"
                )


def _pools(
    block: IPv4Network, prefix: int, layout: Layout
) -> tuple[dict[str, IPv4Network], dict[str, IPv4Network]]:
    if prefix % 8 != 0 or not block.prefixlen <= prefix <= 24:
        raise AddressPlanError(
            f"pool prefix /{prefix} must be a multiple of 8, at most /24 "
            f"and no shorter than the MN block {block}"
        )
    per = max(len(ars) for ars in layout.clusters.values())
    bits = (per - 1).bit_length()
    cluster_prefix = prefix - bits
    need = len(layout.clusters) << bits
    have = 1 << (prefix - block.prefixlen)
    if cluster_prefix < block.prefixlen or need > have:
        raise AddressPlanError(
            f"{len(layout.clusters)} clusters of {per} /{prefix} pools "
            f"need {need} pools but MN block {block} holds {have}"
        )
    clusters = dict(
        zip(
            layout.clusters,
            block.subnets(new_prefix=cluster_prefix),
            strict=False,
        )
    )
    pools: dict[str, IPv4Network] = {}
    for agg, ars in layout.clusters.items():
        subnets = clusters[agg].subnets(new_prefix=prefix)
        pools.update(zip(ars, subnets, strict=False))
    return pools, clusters


def _loopbacks(
    block: IPv4Network, routers: tuple[str, ...]
) -> dict[str, IPv4Address]:
    # Skip the block's first address so no loopback ends in .0.
    if len(routers) > block.num_addresses - 1:
        raise AddressPlanError(
            f"loopback block {block} is too small for {len(routers)} routers"
        )
    return {r: block.network_address + 1 + i for i, r in enumerate(routers)}


def _links(
    block: IPv4Network, prefix: int, pairs: list[tuple[str, str]]
) -> dict[tuple[str, str], LinkAddresses]:
    if prefix not in (30, 31):
        raise AddressPlanError(f"link prefix /{prefix} must be /30 or /31")
    nets = block.subnets(new_prefix=prefix)
    count = 1 << (prefix - block.prefixlen)
    if len(pairs) > count:
        raise AddressPlanError(
            f"link block {block} holds {count} /{prefix} subnets but "
            f"{len(pairs)} links need one each"
        )
    return {pair: _p2p(net) for pair, net in zip(pairs, nets, strict=False)}


def _p2p(net: IPv4Network) -> LinkAddresses:
    first = 0 if net.prefixlen == 31 else 1
    a = net.network_address + first
    return LinkAddresses(
        net,
        IPv4Interface(f"{a}/{net.prefixlen}"),
        IPv4Interface(f"{a + 1}/{net.prefixlen}"),
    )


def _services(block: IPv4Network) -> tuple[LinkAddresses, LinkAddresses]:
    if block.prefixlen > 29:
        raise AddressPlanError(
            f"services block {block} is too small (need /29 or larger)"
        )
    dns, border = itertools.islice(block.subnets(new_prefix=30), 2)
    return _p2p(dns), _p2p(border)
