"""Read one results folder written by the handoff experiment.

A results folder holds ``manifest.json`` (required: it is what makes a
folder a results folder), ``moves.jsonl``, ``events.jsonl`` and
``tcp.json``.  A missing moves or events file means none were recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flatmob_mn.errors import ResultsError
from flatmob_mn.measure.summary import (
    MOVES_FILE,
    TCP_FILE,
    percentile,
    read_jsonl,
    read_tcp,
)

MANIFEST_FILE = "manifest.json"
EVENTS_FILE = "events.jsonl"


@dataclass
class Results:
    """The files of one results folder, parsed."""

    path: Path
    manifest: dict[str, Any]
    moves: list[dict[str, Any]]
    tcp: dict[str, Any] | None

    @property
    def run_id(self) -> str:
        """Return the run id of the manifest, or the folder's name."""
        return str(self.manifest.get("run_id") or self.path.name)

    def events(self) -> list[dict[str, Any]]:
        """Return the raw events of ``events.jsonl`` (none if missing).

        :raises ResultsError: the file is malformed.
        """
        path = self.path / EVENTS_FILE
        return read_jsonl(path) if path.exists() else []


def load_results(results_dir: Path) -> Results:
    """Return the parsed files of a results folder.

    :raises ResultsError: the folder has no readable ``manifest.json``,
        or one of its files is malformed.
    """
    results_dir = Path(results_dir)
    manifest_path = results_dir / MANIFEST_FILE
    if not results_dir.is_dir():
        raise ResultsError(f"{results_dir} is not a directory")
    if not manifest_path.is_file():
        raise ResultsError(
            f"{results_dir} is not a results folder: no {MANIFEST_FILE}"
        )
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        raise ResultsError(f"cannot read {manifest_path}: {exc}") from exc
    if not isinstance(manifest, dict):
        raise ResultsError(f"{manifest_path}: not a JSON object")

    moves_path = results_dir / MOVES_FILE
    moves = read_jsonl(moves_path) if moves_path.exists() else []
    tcp = read_tcp(results_dir / TCP_FILE)
    return Results(results_dir, manifest, moves, tcp)


def pick_move(
    moves: list[dict[str, Any]], index: int | None = None
) -> dict[str, Any] | None:
    """Return the move to draw a timeline of, or None if there is none.

    With ``index``, the move recorded with that index; otherwise the move
    whose convergence time is the nearest-rank median, or the first move
    when none converged.

    :raises ResultsError: no move has the given index.
    """
    if index is not None:
        for move in moves:
            if move.get("index") == index:
                return move
        raise ResultsError(f"no move with index {index}")
    converged = [m for m in moves if m.get("convergence_ms") is not None]
    if not converged:
        return moves[0] if moves else None
    median = percentile([m["convergence_ms"] for m in converged], 50)
    return next(m for m in converged if m["convergence_ms"] == median)


def move_window(
    move: dict[str, Any], moves: list[dict[str, Any]]
) -> tuple[int, int | None]:
    """Return the time window of a move: its t_move to the next t_move.

    The end is None for the last move.
    """
    start = int(move["t_move"])
    later = [
        int(m["t_move"])
        for m in moves
        if m.get("t_move") is not None and int(m["t_move"]) > start
    ]
    return start, min(later) if later else None


def fib_events(
    events: list[dict[str, Any]],
    addresses: list[str],
    window: tuple[int, int | None],
) -> list[dict[str, Any]]:
    """Return the FIB changes for ``addresses`` inside ``window``."""
    start, end = window
    wanted = set(addresses)
    return [
        e
        for e in events
        if e.get("ev") == "fib"
        and e.get("address") in wanted
        and e.get("t") is not None
        and start <= e["t"]
        and (end is None or e["t"] < end)
    ]
