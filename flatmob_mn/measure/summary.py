"""Summarise the moves of one handoff run into percentiles per move type.

In: the records of ``moves.jsonl`` (one per move) and ``tcp.json``.
Out: the ``summary.json`` dictionary and a fixed-width table for the
terminal.  Every figure is computed from the recorded values alone: a
missing (null) value is skipped, never estimated, and a statistic with
no values behind it is reported as null.

Percentiles use the nearest-rank method: the p-th percentile of ``n``
sorted values is the value at rank ``ceil(p / 100 * n)`` (1-based), so
it is always one of the measured values.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from flatmob_mn.errors import ResultsError

MOVES_FILE = "moves.jsonl"
TCP_FILE = "tcp.json"
SUMMARY_FILE = "summary.json"

# The move types of the handoff experiment, in the order tables show
# them; types not listed here follow in alphabetical order.
MOVE_TYPES = ("intra-cluster", "inter-cluster", "home-cluster", "owning-ar")
UNKNOWN_TYPE = "unknown"


def percentile(values: Sequence[float], p: float) -> float | None:
    """Return the nearest-rank ``p``-th percentile, or None with no values.

    :param values: the measured values, in any order.
    :param p: the percentile, 0 < p <= 100.
    :raises ValueError: ``p`` is out of range.
    """
    if not 0 < p <= 100:
        raise ValueError(f"percentile {p} is not in (0, 100]")
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(p * len(ordered) / 100)
    return ordered[max(rank, 1) - 1]


def real_values(moves: Iterable[dict[str, Any]], key: str) -> list[float]:
    """Return the non-null values of ``key`` over ``moves``."""
    return [m[key] for m in moves if m.get(key) is not None]


def move_type(move: dict[str, Any]) -> str:
    """Return the type of a move, ``unknown`` when it is not recorded."""
    return move.get("type") or UNKNOWN_TYPE


def move_failed(move: dict[str, Any]) -> bool:
    """Tell whether a move failed: it never converged or broke the invariant.

    A move never converged when its ``convergence_ms`` is null; it broke
    the invariant when ``invariant_ok`` is false or ``problems`` is not
    empty.  A move whose invariant was not checked (null) is not counted
    as broken on that ground.
    """
    if move.get("convergence_ms") is None:
        return True
    return move.get("invariant_ok") is False or bool(move.get("problems"))


def _stats(values: list[float], with_max: bool) -> dict[str, Any]:
    stats: dict[str, Any] = {
        "n": len(values),
        "p50": percentile(values, 50),
        "p99": percentile(values, 99),
    }
    if with_max:
        stats["max"] = max(values) if values else None
    return stats


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _scope(moves: list[dict[str, Any]], side: str) -> list[float]:
    return [
        m["scope"][side]
        for m in moves
        if isinstance(m.get("scope"), dict)
        and m["scope"].get(side) is not None
    ]


def summarize_group(moves: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the statistics of one group of moves.

    ``probes_lost`` is the total over the moves that recorded it (null
    when none did); the scope means are over moves that recorded a scope.
    """
    lost = real_values(moves, "probes_lost")
    return {
        "count": len(moves),
        "failed": sum(move_failed(m) for m in moves),
        "convergence_ms": _stats(real_values(moves, "convergence_ms"), True),
        "interruption_ms": _stats(real_values(moves, "interruption_ms"), True),
        "agent_ms": _stats(real_values(moves, "agent_ms"), False),
        "attach_ms": _stats(real_values(moves, "attach_ms"), False),
        "routing_ms": _stats(real_values(moves, "routing_ms"), False),
        "probes_lost": sum(lost) if lost else None,
        "invariant_failures": sum(
            m.get("invariant_ok") is False for m in moves
        ),
        "scope_inside_mean": _mean(_scope(moves, "inside")),
        "scope_outside_mean": _mean(_scope(moves, "outside")),
    }


def ordered_types(types: Iterable[str]) -> list[str]:
    """Return move types in table order: the known ones first, then A-Z."""
    present = set(types)
    known = [t for t in MOVE_TYPES if t in present]
    return known + sorted(present - set(MOVE_TYPES))


def group_by_type(
    moves: Iterable[dict[str, Any]],
) -> dict[str, list[dict[str, Any]]]:
    """Return the moves grouped by move type, in table order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for move in moves:
        groups.setdefault(move_type(move), []).append(move)
    return {t: groups[t] for t in ordered_types(groups)}


def summarize(
    moves: list[dict[str, Any]], tcp: dict[str, Any] | None
) -> dict[str, Any]:
    """Return the summary of a run: statistics per move type and overall.

    :param moves: the move records of ``moves.jsonl``.
    :param tcp: the TCP survival record of ``tcp.json``, or None.
    """
    return {
        "moves": len(moves),
        "failed_moves": sum(move_failed(m) for m in moves),
        "percentile_method": "nearest-rank",
        "by_type": {
            t: summarize_group(group)
            for t, group in group_by_type(moves).items()
        },
        "all": summarize_group(moves),
        "tcp": dict(tcp) if tcp is not None else None,
    }


def read_moves(path: Path) -> list[dict[str, Any]]:
    """Return the move records of a ``moves.jsonl`` file.

    :raises ResultsError: the file cannot be read or a line is not a
        JSON object.
    """
    return read_jsonl(path)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Return the JSON objects of a file with one object per line.

    Blank lines are skipped.

    :raises ResultsError: the file cannot be read or a line is not a
        JSON object.
    """
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ResultsError(f"cannot read {path}: {exc}") from exc
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise ResultsError(f"{path}:{number}: not JSON: {exc}") from exc
        if not isinstance(record, dict):
            raise ResultsError(f"{path}:{number}: not a JSON object")
        records.append(record)
    return records


def read_tcp(path: Path) -> dict[str, Any] | None:
    """Return the record of a ``tcp.json`` file, or None if there is none.

    :raises ResultsError: the file exists but is not a JSON object.
    """
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ResultsError(f"cannot read {path}: {exc}") from exc
    if not isinstance(record, dict):
        raise ResultsError(f"{path}: not a JSON object")
    return record


def load_summary(results_dir: Path) -> dict[str, Any]:
    """Return the summary of a results folder, computed from its files.

    A folder without ``moves.jsonl`` has no moves.

    :raises ResultsError: a file is malformed.
    """
    results_dir = Path(results_dir)
    moves_path = results_dir / MOVES_FILE
    moves = read_moves(moves_path) if moves_path.exists() else []
    return summarize(moves, read_tcp(results_dir / TCP_FILE))


def write_summary(results_dir: Path) -> dict[str, Any]:
    """Write ``summary.json`` into a results folder and return it.

    :raises ResultsError: a file is malformed or cannot be written.
    """
    results_dir = Path(results_dir)
    summary = load_summary(results_dir)
    path = results_dir / SUMMARY_FILE
    try:
        path.write_text(json.dumps(summary, indent=2) + "\n")
    except OSError as exc:
        raise ResultsError(f"cannot write {path}: {exc}") from exc
    return summary


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


TABLE_COLUMNS = (
    ("move type", 14),
    ("count", 6),
    ("failed", 7),
    ("conv p50", 9),
    ("conv p99", 9),
    ("intr p50", 9),
    ("intr p99", 9),
    ("lost", 6),
    ("inv fail", 9),
)


def _row(cells: Sequence[str]) -> str:
    first, *rest = cells
    line = first.ljust(TABLE_COLUMNS[0][1])
    for cell, (_, width) in zip(rest, TABLE_COLUMNS[1:], strict=True):
        line += cell.rjust(width)
    return line.rstrip()


def _group_row(name: str, group: dict[str, Any]) -> str:
    conv, intr = group["convergence_ms"], group["interruption_ms"]
    return _row(
        [
            name,
            str(group["count"]),
            str(group["failed"]),
            _ms(conv["p50"]),
            _ms(conv["p99"]),
            _ms(intr["p50"]),
            _ms(intr["p99"]),
            _count(group["probes_lost"]),
            str(group["invariant_failures"]),
        ]
    )


def format_table(summary: dict[str, Any]) -> str:
    """Return the summary as a fixed-width table, one row per move type.

    Times are in ms (conv = FIB convergence, intr = probe interruption at
    the MN); ``-`` marks a statistic with no recorded values.
    """
    header = _row([title for title, _ in TABLE_COLUMNS])
    lines = [header, "-" * len(header)]
    for name, group in summary["by_type"].items():
        lines.append(_group_row(name, group))
    lines.append(_group_row("all", summary["all"]))
    lines.append(_tcp_line(summary.get("tcp")))
    return "\n".join(lines) + "\n"


def _tcp_line(tcp: dict[str, Any] | None) -> str:
    if tcp is None:
        return "tcp: not recorded"
    if tcp.get("survived"):
        state = "survived"
    else:
        state = f"broke ({tcp.get('error') or 'no error recorded'})"
    gap = tcp.get("max_gap_ms")
    return (
        f"tcp: {state}, {_count(tcp.get('received'))} received, "
        f"max gap {_ms(gap)} ms"
    )
