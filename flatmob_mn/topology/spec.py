"""Topology specs: how many routers of each layer, links and addressing.

A spec is read from a TOML file (see ``topologies/``) or taken from the
built-in default.  Every key is checked: an unknown key, a wrong type or
an impossible value raises :class:`~flatmob_mn.errors.SpecError` with one
line naming the file and the field, before anything is started.

Homing: ``"single"`` uplinks aggregation router *i* to core
``i mod cores``; ``"dual"`` uplinks every aggregation router to every
core (two uplinks with the default two cores).  Cores are always joined
in a full mesh.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flatmob_mn.errors import AddressPlanError, SpecError

HOMINGS = ("single", "dual")
MAX_ASN = 2**32 - 1
MAX_MOBILE_NODES = 500


@dataclass(frozen=True)
class Addressing:
    """Address blocks of the AS, as CIDR strings."""

    mn_block: str = "10.64.0.0/16"
    pool_prefix: int = 24
    loopbacks: str = "10.255.0.0/20"
    links: str = "10.254.0.0/16"
    link_prefix: int = 31
    services: str = "10.253.0.0/24"
    correspondent: str = "10.200.0.0/24"


@dataclass(frozen=True)
class TopologySpec:
    """What to build: layers, links, mobile nodes and addresses."""

    name: str = "default"
    cores: int = 2
    aggs: int = 4
    ars_per_agg: int = 4
    homing: str = "dual"
    ar_peer_links: tuple[tuple[str, str], ...] = ()
    ar_peer_count: int = 3
    delay_ms: float = 0.0
    bandwidth_mbit: float = 0.0
    mobile_nodes: int = 4
    asn: int = 65000
    border_asn: int = 65001
    addressing: Addressing = field(default_factory=Addressing)
    source: str = "<built-in>"

    @property
    def ar_count(self) -> int:
        """Return the number of access routers."""
        return self.aggs * self.ars_per_agg


def default_spec() -> TopologySpec:
    """Return the built-in default topology."""
    return TopologySpec()


# Keys of each table: name -> (type accepted, attribute of TopologySpec).
_TOP = {"name": (str, "name"), "mobile_nodes": (int, "mobile_nodes")}
_ROUTERS = {
    "cores": (int, "cores"),
    "aggs": (int, "aggs"),
    "ars_per_agg": (int, "ars_per_agg"),
    "homing": (str, "homing"),
    "asn": (int, "asn"),
    "border_asn": (int, "border_asn"),
}
_LINKS = {
    "ar_peers": (list, "ar_peer_links"),
    "ar_peer_count": (int, "ar_peer_count"),
    "delay_ms": ((int, float), "delay_ms"),
    "bandwidth_mbit": ((int, float), "bandwidth_mbit"),
}
_ADDRESSING = {
    "mn_block": str,
    "pool_prefix": int,
    "loopbacks": str,
    "links": str,
    "link_prefix": int,
    "services": str,
    "correspondent": str,
}


def load_spec(path: str | Path) -> TopologySpec:
    """Read and check a TOML topology spec.

    :raises SpecError: the file is unreadable or a field is wrong.
    :raises AddressPlanError: the addressing cannot make a plan (the
        message names the file).
    """
    path = Path(path)
    return parse_spec(read_toml(path), str(path))


def read_toml(path: Path) -> dict[str, Any]:
    """Return the tables of a TOML file.

    :raises SpecError: naming the file, if it is unreadable or not TOML.
    """
    try:
        return tomllib.loads(path.read_text())
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from exc


def parse_spec(data: dict[str, Any], source: str) -> TopologySpec:
    """Build a spec from parsed TOML, checking every field.

    :raises SpecError: naming ``source`` and the wrong field.
    """
    values: dict[str, Any] = {"source": source}
    tables: dict[str, dict[str, Any]] = {
        "routers": _ROUTERS,
        "links": _LINKS,
    }
    for key, value in data.items():
        if key in _TOP:
            values[_TOP[key][1]] = _typed(source, key, value, _TOP[key][0])
        elif key in tables:
            values.update(_table(source, key, value, tables[key]))
        elif key == "addressing":
            values["addressing"] = _addressing(source, value)
        else:
            raise SpecError(f"{source}: unknown field '{key}'")
    for key in ("delay_ms", "bandwidth_mbit"):
        if key in values:
            values[key] = float(values[key])
    if "ar_peer_links" in values:
        values["ar_peer_links"] = _pairs(source, values["ar_peer_links"])
    spec = TopologySpec(**values)
    check_spec(spec)
    _check_addressing(spec)
    return spec


def _check_addressing(spec: TopologySpec) -> None:
    """Reject, naming the file, addressing that cannot make a plan."""
    from flatmob_mn.topology.addressing import make_plan
    from flatmob_mn.topology.layout import make_layout

    try:
        make_plan(spec.addressing, make_layout(spec))
    except AddressPlanError as exc:
        raise AddressPlanError(f"{spec.source}: addressing: {exc}") from exc


def _typed(source: str, name: str, value: Any, kind: Any) -> Any:
    # bool is an int in Python; a spec writing `cores = true` is wrong.
    if isinstance(value, bool) or not isinstance(value, kind):
        want = getattr(kind, "__name__", "number")
        raise SpecError(f"{source}: field '{name}' must be a {want}")
    return value


def _table(
    source: str, name: str, table: Any, keys: dict[str, Any]
) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise SpecError(f"{source}: field '{name}' must be a table")
    out = {}
    for key, value in table.items():
        if key not in keys:
            raise SpecError(f"{source}: unknown field '{name}.{key}'")
        kind, attr = keys[key]
        out[attr] = _typed(source, f"{name}.{key}", value, kind)
    return out


def _addressing(source: str, table: Any) -> Addressing:
    if not isinstance(table, dict):
        raise SpecError(f"{source}: field 'addressing' must be a table")
    out = {}
    for key, value in table.items():
        if key not in _ADDRESSING:
            raise SpecError(f"{source}: unknown field 'addressing.{key}'")
        out[key] = _typed(source, f"addressing.{key}", value, _ADDRESSING[key])
    return Addressing(**out)


def _pairs(source: str, value: list[Any]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in value:
        ok = (
            isinstance(item, list)
            and len(item) == 2
            and all(isinstance(x, str) for x in item)
        )
        if not ok:
            raise SpecError(
                f"{source}: field 'links.ar_peers' must hold pairs of "
                f'AR names like ["ar1", "ar5"]'
            )
        pairs.append((item[0], item[1]))
    return tuple(pairs)


def check_spec(spec: TopologySpec) -> None:
    """Check the values of a spec that TOML types cannot.

    :raises SpecError: naming the spec's source and the field.
    """
    src = spec.source
    positive = {
        "routers.cores": spec.cores,
        "routers.aggs": spec.aggs,
        "routers.ars_per_agg": spec.ars_per_agg,
    }
    for name, value in positive.items():
        if value < 1:
            raise SpecError(f"{src}: field '{name}' must be at least 1")
    if spec.mobile_nodes < 0:
        raise SpecError(f"{src}: field 'mobile_nodes' must not be negative")
    if spec.homing not in HOMINGS:
        raise SpecError(
            f"{src}: field 'routers.homing' must be one of {HOMINGS}"
        )
    if spec.ar_peer_count < 0:
        raise SpecError(
            f"{src}: field 'links.ar_peer_count' must not be negative"
        )
    if spec.delay_ms < 0 or spec.bandwidth_mbit < 0:
        raise SpecError(
            f"{src}: fields 'links.delay_ms' and 'links.bandwidth_mbit' "
            f"must not be negative"
        )
    for name, value in (("asn", spec.asn), ("border_asn", spec.border_asn)):
        if not 1 <= value <= MAX_ASN:
            raise SpecError(
                f"{src}: field 'routers.{name}' must be 1..{MAX_ASN}"
            )
    if spec.mobile_nodes > MAX_MOBILE_NODES:
        raise SpecError(
            f"{src}: field 'mobile_nodes' must be at most "
            f"{MAX_MOBILE_NODES} (each MN is a node with an agent)"
        )
    # MNs attach round robin and lease from their first AR's pool, which
    # leases every address but the network, broadcast and AR addresses.
    per_ar = -(-spec.mobile_nodes // spec.ar_count)
    room = 2 ** (32 - spec.addressing.pool_prefix) - 3
    if 0 < spec.addressing.pool_prefix <= 30 and per_ar > room:
        raise SpecError(
            f"{src}: field 'mobile_nodes' puts {per_ar} MNs on one AR, "
            f"whose pool leases {room} addresses"
        )
    most = spec.aggs * spec.ars_per_agg
    if spec.ar_peer_count > most:
        raise SpecError(
            f"{src}: field 'links.ar_peer_count' must be at most {most} "
            "(one generated link per AR, round the clusters)"
        )
    if spec.asn == spec.border_asn:
        raise SpecError(
            f"{src}: field 'routers.border_asn' must differ from 'asn'"
        )
    names = {f"ar{i}" for i in range(1, spec.ar_count + 1)}
    for a, b in spec.ar_peer_links:
        if a not in names or b not in names or a == b:
            raise SpecError(
                f"{src}: field 'links.ar_peers' names an unknown AR or "
                f"links an AR to itself: [{a!r}, {b!r}]"
            )
