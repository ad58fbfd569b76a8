"""Draw the figures of a handoff run with matplotlib's Agg canvas.

Each function takes parsed records and returns a ``Figure``; nothing is
shown on a display and no global pyplot state is touched.  A figure with
nothing to draw says "no data" instead of failing.
"""

from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from flatmob_mn.measure.summary import (
    group_by_type,
    real_values,
    summarize_group,
)

NS_PER_MS = 1_000_000

# Agent events marked on the timeline, with the style of their line.
TIMELINE_MARKS = (
    ("auth_sent", "tab:blue", ":"),
    ("auth_verified", "tab:orange", "--"),
    ("route_handed", "tab:green", "-."),
    ("attached", "tab:purple", "-"),
)


def new_figure(width: float = 7.0, height: float = 4.5) -> Figure:
    """Return an empty figure drawn by the Agg canvas."""
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _no_data(ax: Axes, what: str) -> None:
    ax.text(
        0.5,
        0.5,
        f"no data: {what}",
        ha="center",
        va="center",
        transform=ax.transAxes,
    )
    ax.set_xticks([])
    ax.set_yticks([])


def cdf_figure(
    moves: list[dict[str, Any]], key: str, title: str, xlabel: str
) -> Figure:
    """Return the CDF of one per-move value, one line per move type.

    Moves without the value (null) are left out and counted in the
    legend.
    """
    figure = new_figure()
    ax = figure.add_subplot()
    ax.set_title(title)
    drawn = False
    for name, group in group_by_type(moves).items():
        values = sorted(real_values(group, key))
        missing = len(group) - len(values)
        label = f"{name} (n={len(values)}"
        label += f", {missing} without value)" if missing else ")"
        if not values:
            ax.plot([], [], label=label)
            continue
        fractions = [(i + 1) / len(values) for i in range(len(values))]
        ax.step(
            [values[0]] + values, [0.0] + fractions, where="post", label=label
        )
        drawn = True
    if not drawn:
        _no_data(ax, f"no move recorded {key}")
    else:
        ax.set_xlabel(xlabel)
        ax.set_ylabel("fraction of moves")
        ax.set_ylim(0, 1.02)
        ax.grid(True, alpha=0.3)
    if moves:
        ax.legend(title="move type", loc="best", fontsize="small")
    return figure


def _router_rows(
    fib: dict[str, int], changes: list[dict[str, Any]]
) -> list[str]:
    """Return routers ordered by their last FIB change, others after."""
    rows = sorted(fib, key=lambda r: (fib[r], r))
    first: dict[str, int] = {}
    for change in changes:
        router = change.get("router")
        if router and router not in fib:
            first.setdefault(router, change["t"])
    return rows + sorted(first, key=lambda r: (first[r], r))


def _ms(t: int | None, t0: int) -> float | None:
    return None if t is None else _since(t, t0)


def _since(t: int, t0: int) -> float:
    return (int(t) - t0) / NS_PER_MS


def _draw_changes(
    ax: Axes, rows: list[str], changes: list[dict[str, Any]], t0: int
) -> None:
    for kind, marker in (("add", "+"), ("del", "x")):
        points = [
            (_since(c["t"], t0), rows.index(c["router"]))
            for c in changes
            if c.get("event") == kind and c.get("router") in rows
        ]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.scatter(
                xs,
                ys,
                marker=marker,
                color="black",
                s=40,
                zorder=4,
                label=f"FIB {kind} (events)",
            )


def _draw_marks(ax: Axes, move: dict[str, Any], t0: int) -> list[str]:
    """Draw the agent's timeline events; return those not recorded."""
    timeline = move.get("timeline") or {}
    absent = []
    for name, colour, style in TIMELINE_MARKS:
        x = _ms(timeline.get(name), t0)
        if x is None:
            absent.append(name)
            continue
        ax.axvline(x, color=colour, linestyle=style, label=name)
    converged = _ms(move.get("converged_ns"), t0)
    if converged is not None:
        ax.axvline(
            converged, color="black", linewidth=2, alpha=0.4, label="converged"
        )
    return absent


def _timeline_title(move: dict[str, Any], why: str) -> str:
    conv = move.get("convergence_ms")
    conv_text = "never converged" if conv is None else f"{conv:.1f} ms"
    return (
        f"Move {move.get('index')} ({move.get('type')}, "
        f"{move.get('old_ar')} -> {move.get('new_ar')}): {conv_text}\n"
        f"{why}"
    )


def timeline_figure(
    move: dict[str, Any] | None, changes: list[dict[str, Any]], why: str
) -> Figure:
    """Return the per-router timeline of one move.

    Dots are each router's last FIB change for the MN's address in the
    move (``fib``); crosses and pluses are every FIB change found in the
    raw events of the move's window; vertical lines are the new AR's
    events.

    :param move: the move record, or None when the run has no moves.
    :param changes: the raw FIB events of the move's window.
    :param why: one line saying how the move was chosen.
    """
    figure = new_figure(8.0, 5.0)
    ax = figure.add_subplot()
    if move is None:
        ax.set_title("Per-router timeline of one move")
        _no_data(ax, "the run recorded no moves")
        return figure
    ax.set_title(_timeline_title(move, why), fontsize="medium")
    if move.get("t_move") is None:
        _no_data(ax, "the move has no recorded t_move")
        return figure
    t0 = int(move["t_move"])
    fib = {r: int(t) for r, t in (move.get("fib") or {}).items() if t}
    rows = _router_rows(fib, changes)
    if not rows:
        _no_data(ax, "no router's FIB changed in this move")
        return figure

    ax.scatter(
        [_since(fib[r], t0) for r in fib],
        [rows.index(r) for r in fib],
        color="tab:red",
        zorder=3,
        label="last FIB change",
    )
    _draw_changes(ax, rows, changes, t0)
    absent = _draw_marks(ax, move, t0)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(left=min(0.0, ax.get_xlim()[0]))
    ax.set_xlabel("time since the access link moved (ms)")
    ax.set_ylabel("router (by time of last FIB change)")
    ax.grid(True, axis="x", alpha=0.3)
    figure.legend(loc="outside right upper", fontsize="small")
    if absent:
        ax.text(
            0.01,
            0.01,
            "not recorded: " + ", ".join(absent),
            transform=ax.transAxes,
            fontsize="small",
            va="bottom",
        )
    return figure


def scope_figure(moves: list[dict[str, Any]], title: str) -> Figure:
    """Return grouped bars of the mean update scope per move type.

    Each type has two bars: routers whose FIB changed inside the new
    AR's cluster and outside it, averaged over the moves of that type.
    """
    figure = new_figure()
    ax = figure.add_subplot()
    ax.set_title(title)
    groups = group_by_type(moves)
    stats = {t: summarize_group(g) for t, g in groups.items()}
    names = [t for t, s in stats.items() if s["scope_inside_mean"] is not None]
    if not names:
        _no_data(ax, "no move recorded its update scope")
        return figure

    width = 0.38
    places = range(len(names))
    for shift, side, colour in (
        (-0.5, "inside", "tab:blue"),
        (0.5, "outside", "tab:orange"),
    ):
        heights = [stats[t][f"scope_{side}_mean"] for t in names]
        bars = ax.bar(
            [p + shift * width for p in places],
            heights,
            width,
            label=f"{side} the cluster",
            color=colour,
        )
        ax.bar_label(bars, fmt="%.1f", fontsize="small")
    counts = {
        t: sum(isinstance(m.get("scope"), dict) for m in groups[t])
        for t in names
    }
    ax.set_xticks(places, [f"{t}\n(n={counts[t]})" for t in names])
    ax.set_xlabel("move type")
    ax.set_ylabel("routers whose FIB changed (mean per move)")
    ax.legend()
    return figure
