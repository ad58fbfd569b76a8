"""Turn a run's raw events into one record per move.

In: the moves as performed (with the time each link moved and the time
the no-stale-route invariant was seen to hold), every agent event, every
kernel FIB change and every probe received.  Out: the per-move records
of ``moves.jsonl``.  Every figure is a difference of two recorded
times; a figure whose events are missing stays null.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flatmob_mn.measure.fibwatch import FibChange

MN_EVENTS = (
    "detach",
    "link_up",
    "advert",
    "auth_sent",
    "auth_reply",
    "attached",
)
AR_EVENTS = ("auth_verified", "dns_checked", "route_handed")


@dataclass(frozen=True)
class Performed:
    """A move as it was carried out."""

    index: int
    mn: str
    type: str
    old_ar: str
    new_ar: str
    new_cluster: str
    addresses: tuple[str, ...]
    t_move: int  # ns: the access link moved
    t_checked: int  # ns: the invariant was seen to hold (or gave up)
    t_end: int  # ns: the next move began (or the run ended)
    problems: tuple[str, ...]


def _ms(a: int | None, b: int | None) -> float | None:
    if a is None or b is None:
        return None
    return (b - a) / 1e6


def _first(
    events: Iterable[dict[str, Any]],
    name: str,
    start: int,
    end: int,
    **match: Any,
) -> dict[str, Any] | None:
    for event in events:
        if event["ev"] != name or not start <= event["t"] < end:
            continue
        if all(event.get(k) == v for k, v in match.items()):
            return event
    return None


def _time(event: dict[str, Any] | None, key: str = "t") -> int | None:
    return None if event is None else event.get(key)


def timeline(
    move: Performed,
    mn_events: Sequence[dict[str, Any]],
    ar_events: Sequence[dict[str, Any]],
    mn_name: str,
) -> dict[str, int | None]:
    """Return the first time of each step of one move."""
    start, end = move.t_move, move.t_end
    steps: dict[str, int | None] = {
        name: _time(_first(mn_events, name, start, end)) for name in MN_EVENTS
    }
    for name in AR_EVENTS:
        steps[name] = _time(_first(ar_events, name, start, end, mn=mn_name))
    # The AR notes when the message arrived, before it verified it.
    verified = _first(ar_events, "auth_verified", start, end, mn=mn_name)
    steps["auth_received"] = _time(verified, "t_recv")
    return steps


def fib_times(move: Performed, changes: Iterable[FibChange]) -> dict[str, int]:
    """Return each router's last FIB change for the MN in the move."""
    last: dict[str, int] = {}
    for change in changes:
        if change.address not in move.addresses:
            continue
        if move.t_move <= change.t <= move.t_checked:
            last[change.router] = max(last.get(change.router, 0), change.t)
    return last


def interruption(
    move: Performed, arrivals: Sequence[tuple[int, int]]
) -> tuple[float | None, int | None]:
    """Return the probe gap at the MN (ms) and the probes lost in it.

    The gap is the longest time between two consecutive probes that
    arrived from the last one before the move to the last one before the
    next move; lost probes are those numbered across that span that
    never arrived.

    :param arrivals: (sequence number, arrival time) of every probe the
        MN received, in arrival order.
    """
    before = [a for a in arrivals if a[1] < move.t_move]
    during = [a for a in arrivals if move.t_move <= a[1] < move.t_end]
    if not before or not during:
        return None, None
    span = [before[-1], *during]
    gap = max(b[1] - a[1] for a, b in zip(span, span[1:], strict=False))
    got = {seq for seq, _ in span}
    lo, hi = span[0][0], max(seq for seq, _ in span)
    lost = sum(1 for s in range(lo + 1, hi) if s not in got)
    return gap / 1e6, lost


def record(
    move: Performed,
    mn_events: Sequence[dict[str, Any]],
    ar_events: Sequence[dict[str, Any]],
    changes: Sequence[FibChange],
    arrivals: Sequence[tuple[int, int]],
    clusters: Mapping[str, set[str]],
    mn_name: str,
) -> dict[str, Any]:
    """Return the ``moves.jsonl`` record of one move."""
    steps = timeline(move, mn_events, ar_events, mn_name)
    fib = fib_times(move, changes)
    ok = not move.problems
    converged = max(fib.values()) if ok and fib else None
    gap, lost = interruption(move, arrivals)
    inside = clusters[move.new_cluster]
    return {
        "index": move.index,
        "mn": move.mn,
        "addresses": list(move.addresses),
        "type": move.type,
        "old_ar": move.old_ar,
        "new_ar": move.new_ar,
        "new_cluster": move.new_cluster,
        "t_move": move.t_move,
        "timeline": steps,
        "fib": fib,
        "converged_ns": converged,
        "convergence_ms": _ms(move.t_move, converged),
        "agent_ms": _ms(steps["auth_received"], steps["route_handed"]),
        "attach_ms": _ms(move.t_move, steps["route_handed"]),
        "routing_ms": _ms(steps["route_handed"], converged),
        "interruption_ms": gap,
        "probes_lost": lost,
        "scope": {
            "changed": sorted(fib),
            "inside": sum(1 for r in fib if r in inside),
            "outside": sum(1 for r in fib if r not in inside),
        },
        "invariant_ok": ok,
        "problems": list(move.problems),
    }
