"""Plot a handoff run from its results folder.

In: a results folder (``manifest.json``, ``moves.jsonl``,
``events.jsonl``, ``tcp.json``).  Out: PNG files written into the same
folder:

- ``cdf_convergence.png``: CDF of FIB convergence time per move type;
- ``cdf_interruption.png``: CDF of the probe gap at the MN per move type;
- ``timeline.png``: per-router FIB changes and the new AR's events of
  one move (the median-convergence move unless one is chosen);
- ``scope.png``: mean number of routers whose FIB changed per move,
  inside and outside the new AR's cluster, per move type.

Everything is drawn from the files alone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flatmob_mn.errors import FlatmobError
from flatmob_mn.measure.summary import (
    format_table,
    summarize,
    write_summary,
)
from flatmob_mn.plot.figures import (
    cdf_figure,
    scope_figure,
    timeline_figure,
)
from flatmob_mn.plot.results import (
    fib_events,
    load_results,
    move_window,
    pick_move,
)

__all__ = ["PLOT_FILES", "main", "plot_all"]

PLOT_FILES = (
    "cdf_convergence.png",
    "cdf_interruption.png",
    "timeline.png",
    "scope.png",
)
DPI = 120


def plot_all(results_dir: Path, move_index: int | None = None) -> list[Path]:
    """Draw every plot of a results folder into it; return the files.

    :param results_dir: the results folder of one run.
    :param move_index: the index of the move to draw the timeline of;
        None picks the move with the median convergence time.
    :raises ResultsError: the folder is not a results folder, a file is
        malformed, or no move has ``move_index``.
    """
    results = load_results(Path(results_dir))
    moves = results.moves
    run = f"run {results.run_id}"

    move = pick_move(moves, move_index)
    changes = []
    if move is not None and move.get("t_move") is not None:
        window = move_window(move, moves)
        changes = fib_events(
            results.events(), move.get("addresses") or [], window
        )
    why = (
        f"{run}; chosen by index"
        if move_index is not None
        else f"{run}; the move with median convergence time"
    )

    figures = {
        "cdf_convergence.png": cdf_figure(
            moves,
            "convergence_ms",
            f"FIB convergence after a move ({run})",
            "time from the move to the last router's FIB change (ms)",
        ),
        "cdf_interruption.png": cdf_figure(
            moves,
            "interruption_ms",
            f"Interruption at the MN ({run})",
            "gap between probes across the move (ms)",
        ),
        "timeline.png": timeline_figure(move, changes, why),
        "scope.png": scope_figure(moves, f"Update scope of a move ({run})"),
    }
    written = []
    for name in PLOT_FILES:
        path = results.path / name
        try:
            figures[name].savefig(path, dpi=DPI)
        except OSError as exc:
            raise FlatmobError(f"cannot write {path}: {exc}") from exc
        written.append(path)
    return written


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``flatmob plot``."""
    parser = argparse.ArgumentParser(
        prog="flatmob plot",
        description="Summarise and plot one results folder.",
    )
    parser.add_argument("dir", type=Path, help="the results folder")
    parser.add_argument(
        "--move",
        type=int,
        metavar="INDEX",
        help="draw the timeline of this move "
        "(default: the move with median convergence time)",
    )
    parser.add_argument(
        "--write-summary",
        action="store_true",
        help="also (re)write summary.json from moves.jsonl and tcp.json",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``flatmob plot DIR``; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        paths = plot_all(args.dir, args.move)
        if args.write_summary:
            summary = write_summary(args.dir)
        else:
            results = load_results(args.dir)
            summary = summarize(results.moves, results.tcp)
    except FlatmobError as exc:
        print(f"flatmob plot: {exc}", file=sys.stderr)
        return 1
    print(format_table(summary), end="")
    for path in paths:
        print(f"*** wrote {path}")
    return 0
