"""Experiment definitions: TOML files in ``experiments/``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flatmob_mn.errors import SpecError
from flatmob_mn.topology.spec import read_toml

FIELDS: dict[str, type] = {
    "topology": str,
    "moves": int,
    "seed": int,
    "mns": int,
    "probe_rate": int,
    "tcp_rate": int,
}
LIMITS: dict[str, tuple[int, int]] = {
    "moves": (1, 100_000),
    "mns": (0, 500),
    "probe_rate": (1, 10_000),
    "tcp_rate": (1, 10_000),
}


@dataclass(frozen=True)
class HandoffDefinition:
    """A handoff experiment as a file (or the command line) gives it."""

    topology: str = "default"
    moves: int = 40
    seed: int = 1
    mns: int = 0
    probe_rate: int = 1000
    tcp_rate: int = 100


def load_definition(path: Path) -> HandoffDefinition:
    """Read a handoff experiment definition.

    :raises SpecError: naming the file and the field that is wrong.
    """
    return HandoffDefinition(**checked(read_toml(path), str(path)))


def checked(data: dict[str, Any], source: str) -> dict[str, Any]:
    """Return ``data`` if every field is known and in range.

    :raises SpecError: naming ``source`` and the field.
    """
    for key, value in data.items():
        kind = FIELDS.get(key)
        if kind is None:
            raise SpecError(
                f"{source}: unknown field {key!r} (known: {', '.join(FIELDS)})"
            )
        if not isinstance(value, kind) or isinstance(value, bool):
            raise SpecError(
                f"{source}: field {key!r} must be "
                f"{kind.__name__}, not {value!r}"
            )
        limits = LIMITS.get(key)
        number: int = data[key]
        if limits is not None and not limits[0] <= number <= limits[1]:
            low, high = limits
            raise SpecError(
                f"{source}: field {key!r} = {value} is outside {low}..{high}"
            )
    return data
