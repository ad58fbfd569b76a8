"""DHCP on the access links: first addresses for MNs, and their HA's name.

In: an AR's pool, gateway and HA name (:class:`DhcpServerConfig`); an
MN's node, interface and DNS name.  Out: a dnsmasq per AR serving its
access bridge, lease events for the AR agent (:class:`LeaseEvents`),
and on the MN a configured /32 with a default route via the anycast
gateway, returned as a :class:`Lease`.
"""

from flatmob_mn.dhcp.client import Lease, acquire_lease, parse_lease
from flatmob_mn.dhcp.events import LeaseEvent, LeaseEvents
from flatmob_mn.dhcp.server import (
    ANYCAST_GATEWAY,
    DhcpServer,
    DhcpServerConfig,
    LeaseRecord,
    parse_leases,
    render_dnsmasq,
)

__all__ = [
    "ANYCAST_GATEWAY",
    "DhcpServer",
    "DhcpServerConfig",
    "Lease",
    "LeaseEvent",
    "LeaseEvents",
    "LeaseRecord",
    "acquire_lease",
    "parse_lease",
    "parse_leases",
    "render_dnsmasq",
]
