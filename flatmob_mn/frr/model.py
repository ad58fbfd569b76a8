"""Typed model of one router's FRR configuration, and its rendering.

Each daemon (zebra, ospfd, bgpd) gets one file rendered from one jinja2
template in ``templates/``.  The tuning choices live here, as defaults,
each with the reason for it:

- OSPF hello 1 s, dead 4 s: FRR's defaults (10/40 s) bound convergence
  of a fresh network by the first hellos; 1/4 s detects neighbours and
  failures fast while staying cheap in CPU on a few hundred routers.
- OSPF network type point-to-point on every router link: no DR/BDR
  election (which waits for the dead interval) and no network LSAs.
- SPF throttle 0/50/1000 ms and LSA min-arrival 0: recompute at once
  after the first change of a burst.
- ``zebra work-queue 0``: zebra installs routes into the kernel without
  batching delay (saves a few ms per router on every host route).
- BGP keepalive/hold 3/9 s and connect retry 1 s: sessions between
  loopbacks come up as soon as OSPF has made the loopbacks reachable,
  instead of after FRR's 120 s default connect retry.
- ``no bgp network import-check``: an AR announces ``network X/32``
  for a host route whether or not its RIB holds it yet.
- ``no bgp ebgp-requires-policy``: FRR 8.4 sends nothing over eBGP
  without policy; bdr1's session is filtered by prefix lists instead.
- ``bgp bestpath compare-routerid``: ties between equal paths are
  broken the same way whatever the arrival order, so runs repeat.
- No ``bgp default ipv4-unicast``: every session is activated
  explicitly in its address family.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import jinja2

TEMPLATES = Path(__file__).parent / "templates"
DAEMONS = ("zebra", "ospfd", "bgpd")


@dataclass(frozen=True)
class OspfInterface:
    """An interface that runs OSPF, or is announced passively."""

    name: str
    passive: bool = False
    point_to_point: bool = True
    hello: int = 1
    dead: int = 4


@dataclass(frozen=True)
class OspfConfig:
    """ospfd: one area 0 over the router links and loopback."""

    router_id: IPv4Address
    interfaces: tuple[OspfInterface, ...]
    spf_delay_ms: int = 0
    spf_hold_ms: int = 50
    spf_max_ms: int = 1000
    lsa_min_arrival_ms: int = 0


@dataclass(frozen=True)
class PrefixEntry:
    """One line of an IPv4 prefix list."""

    seq: int
    action: str  # "permit" or "deny"
    prefix: IPv4Network
    le: int | None = None


@dataclass(frozen=True)
class PrefixList:
    """A named IPv4 prefix list."""

    name: str
    entries: tuple[PrefixEntry, ...]


@dataclass(frozen=True)
class PeerGroup:
    """BGP settings shared by a set of neighbours."""

    name: str
    remote_as: int
    update_source: str | None = "lo"
    rr_client: bool = False
    next_hop_self: bool = False
    prefix_list_out: str | None = None
    keepalive: int = 3
    hold: int = 9
    connect_retry: int = 1


@dataclass(frozen=True)
class Neighbor:
    """One BGP neighbour, member of a peer group."""

    address: IPv4Address
    group: str


@dataclass(frozen=True)
class BgpConfig:
    """bgpd: one AS, its sessions, originated networks and aggregates."""

    asn: int
    router_id: IPv4Address
    cluster_id: IPv4Address | None = None
    groups: tuple[PeerGroup, ...] = ()
    neighbors: tuple[Neighbor, ...] = ()
    networks: tuple[IPv4Network, ...] = ()
    aggregates: tuple[IPv4Network, ...] = ()
    prefix_lists: tuple[PrefixList, ...] = ()


@dataclass(frozen=True)
class RouterConfig:
    """Everything FRR needs to run one router."""

    hostname: str
    log_dir: Path
    bgp: BgpConfig
    ospf: OspfConfig | None = None
    zebra_work_queue_ms: int = 0
    daemons: tuple[str, ...] = field(default=DAEMONS)


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(config: RouterConfig, daemon: str) -> str:
    """Return the configuration file of ``daemon`` for ``config``."""
    template = _environment().get_template(f"{daemon}.conf.j2")
    return template.render(c=config)


def render_all(config: RouterConfig) -> dict[str, str]:
    """Return the configuration file of each of the router's daemons."""
    return {daemon: render(config, daemon) for daemon in config.daemons}
