"""Configuration of the AR and MN agents, written as JSON at build time.

The network builder writes one file per agent into the agent's node
folder; the agent process reads it at start.  Paths are absolute and all
inside the run directory.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from flatmob_mn.errors import AgentError

T = TypeVar("T")


@dataclass(frozen=True)
class DnsAccess:
    """Where and how an agent reaches the name server."""

    server: str
    port: int
    anchors_file: str
    tsig_name: str
    tsig_secret: str


@dataclass(frozen=True)
class ARConfig:
    """Everything an AR agent needs."""

    name: str
    node: str
    asn: int
    bridge: str
    pool: str
    mn_block: str
    dns: DnsAccess
    key_file: str
    vty_dir: str
    dir: str
    ha_name: str
    lease_events: str
    # LOCAL_PREF of a host route is milliseconds since this Unix time.
    lp_epoch: float
    nonce_lifetime: float = 300.0
    max_skew: float = 5.0
    keystore_socket: str | None = None


@dataclass(frozen=True)
class MNConfig:
    """Everything an MN agent needs."""

    name: str
    node: str
    interface: str
    link_local: str
    dns: DnsAccess
    key_file: str
    dir: str
    keystore_socket: str | None = None
    auth_timeout: float = 0.5
    auth_tries: int = 6
    # Solicitations are cheap and the first may go out before the new
    # AR's port forwards: retry them often.
    solicit_interval: float = 0.05
    solicit_tries: int = 60


def save(config: Any, path: Path) -> None:
    """Write an agent configuration as JSON."""
    path.write_text(json.dumps(dataclasses.asdict(config), indent=1))


def load(cls: type[T], path: Path) -> T:
    """Read an agent configuration of type ``cls`` from ``path``.

    :raises AgentError: naming the file and the field that is wrong.
    """
    try:
        data = json.loads(Path(path).read_text())
        data["dns"] = DnsAccess(**data["dns"])
        return cls(**data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AgentError(f"{path}: bad agent configuration: {exc}") from exc
