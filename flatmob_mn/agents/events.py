"""Timestamped event records that agents write for the experiments.

Each agent appends one JSON object a line to ``events.jsonl`` in its
node's folder: ``t`` is the wall clock in nanoseconds (all nodes share
the machine's clock, so times from different agents compare), ``ev``
names the event and the other fields give its subject.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO, Any


class EventLog:
    """An append-only JSON Lines file of timestamped events."""

    def __init__(self, path: Path, source: str) -> None:
        self.path = path
        self.source = source
        self._file: IO[str] = open(path, "a", buffering=1)

    def write(self, event: str, t: int | None = None, **fields: Any) -> int:
        """Record ``event`` now (or at ``t`` ns) and return its time."""
        t = time.time_ns() if t is None else t
        record = {"t": t, "ev": event, "src": self.source, **fields}
        self._file.write(json.dumps(record) + "\n")
        return t

    def close(self) -> None:
        """Close the file."""
        self._file.close()


def read_events(path: Path) -> list[dict[str, Any]]:
    """Return every event recorded in ``path`` (none if it is missing)."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return []
    events = []
    for line in lines:
        try:
            events.append(json.loads(line))
        except ValueError:
            continue  # a line cut short by a crash
    return events
