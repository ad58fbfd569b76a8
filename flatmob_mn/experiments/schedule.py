"""Schedules of moves, drawn from a seed, and the type of each move.

A move's type says where the MN goes relative to where it has been and
to the AR that owns (leased) its address:

==================  =====================================================
``owning-ar``       back to the AR whose pool holds the MN's address
``home-cluster``    from outside into the owning AR's cluster (not to the
                    owning AR itself)
``intra-cluster``   to another AR of the same cluster
``inter-cluster``   to an AR of another cluster
==================  =====================================================

The first rule that applies wins, in the order of the table.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MOVE_TYPES = ("intra-cluster", "inter-cluster", "home-cluster", "owning-ar")


@dataclass(frozen=True)
class PlannedMove:
    """One move of a schedule."""

    index: int
    mn: str
    new_ar: str
    type: str


def move_type(
    old: str, new: str, owner: str, cluster_of: Mapping[str, str]
) -> str:
    """Return the type of a move from ``old`` to ``new``."""
    home = cluster_of[owner]
    if new == owner:
        return "owning-ar"
    if cluster_of[new] == home and cluster_of[old] != home:
        return "home-cluster"
    if cluster_of[new] == cluster_of[old]:
        return "intra-cluster"
    return "inter-cluster"


def _targets(
    kind: str,
    here: str,
    owner: str,
    ars: Sequence[str],
    cluster_of: Mapping[str, str],
) -> list[str]:
    return [
        ar
        for ar in ars
        if ar != here and move_type(here, ar, owner, cluster_of) == kind
    ]


def make_schedule(
    moves: int,
    seed: int,
    where: Mapping[str, str],
    owner: Mapping[str, str],
    ars: Sequence[str],
    cluster_of: Mapping[str, str],
) -> list[PlannedMove]:
    """Draw ``moves`` moves that cycle through every feasible type.

    :param where: each MN's AR now.
    :param owner: each MN's owning AR.
    :raises ValueError: if no move is possible at all (one AR).
    """
    rng = random.Random(seed)
    here = dict(where)
    mns = sorted(here)
    plan = []
    for index in range(moves):
        mn = mns[index % len(mns)]
        kinds = list(MOVE_TYPES)
        rng.shuffle(kinds)
        # Prefer the type that comes next in turn, so that every type
        # gets its share; fall back to any type possible from here.
        turn = MOVE_TYPES[index % len(MOVE_TYPES)]
        kinds.remove(turn)
        for kind in [turn, *kinds]:
            targets = _targets(kind, here[mn], owner[mn], ars, cluster_of)
            if targets:
                new = rng.choice(targets)
                plan.append(PlannedMove(index, mn, new, kind))
                here[mn] = new
                break
        else:
            raise ValueError("no move is possible: the network has one AR")
    return plan
