"""DNSSEC-signed DNS for the emulation: Knot DNS and a validating client.

In: the entities of a network (MNs, ARs, home agents, the name server)
with their public keys and, for ARs, their address pools.  Out: a Knot
DNS server in a Mininet node serving signed zones (``NameServer``), trust
anchors fixed when the zones are built, per-node TSIG keys, a validating
and caching ``Resolver`` and an ``Updater`` for RFC 2136 updates.
"""

from flatmob_mn.naming.anchors import read_anchors, write_anchors
from flatmob_mn.naming.client import Resolver, Updater
from flatmob_mn.naming.delv import delv_check
from flatmob_mn.naming.errors import (
    BogusAnswer,
    DelvError,
    NameServerError,
    NamingPlanError,
    NoRecord,
    RecordFormatError,
    ServerFailure,
    ServerUnreachable,
    UpdateBadKey,
    UpdateNotAuth,
    UpdateRefused,
)
from flatmob_mn.naming.plan import Entity, NamingPlan, TsigKey, build_plan
from flatmob_mn.naming.records import AUTH_PORT, ISP_ZONE, MN_ZONE
from flatmob_mn.naming.server import NameServer, read_key_file

__all__ = [
    "AUTH_PORT",
    "ISP_ZONE",
    "MN_ZONE",
    "BogusAnswer",
    "DelvError",
    "Entity",
    "NameServer",
    "NameServerError",
    "NamingPlan",
    "NamingPlanError",
    "NoRecord",
    "RecordFormatError",
    "Resolver",
    "ServerFailure",
    "ServerUnreachable",
    "TsigKey",
    "UpdateBadKey",
    "UpdateNotAuth",
    "UpdateRefused",
    "Updater",
    "build_plan",
    "delv_check",
    "read_anchors",
    "read_key_file",
    "write_anchors",
]
