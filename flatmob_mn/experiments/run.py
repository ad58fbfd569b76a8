"""``flatmob run handoff``: from the command line to a results folder."""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flatmob_mn.errors import FlatmobError, SpecError
from flatmob_mn.experiments.definition import (
    HandoffDefinition,
    checked,
    load_definition,
)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DEFINITION = REPO / "experiments" / "handoff.toml"


def results_root() -> Path:
    """Return the folder that holds one folder per run."""
    inside = REPO / "results"
    return inside if inside.is_dir() else Path.cwd() / "results"


def definition_from(args: argparse.Namespace) -> HandoffDefinition:
    """Return the experiment definition with the command line applied.

    :raises SpecError: a bad file or a bad option, by name.
    """
    if args.definition:
        base = load_definition(Path(args.definition))
    elif DEFAULT_DEFINITION.exists():
        base = load_definition(DEFAULT_DEFINITION)
    else:
        base = HandoffDefinition()
    options = {
        k: getattr(args, k)
        for k in ("topology", "mns", "moves", "seed")
        if getattr(args, k) is not None
    }
    return dataclasses.replace(base, **checked(options, "command line"))


def output_folder(args: argparse.Namespace) -> Path:
    """Return a new, empty results folder for this run.

    :raises FlatmobError: if the folder exists and is not empty.
    """
    if args.out:
        out = Path(args.out)
    else:
        out = results_root() / time.strftime("handoff-%Y%m%d-%H%M%S")
    if out.exists() and any(out.iterdir()):
        raise FlatmobError(
            f"{out} exists and is not empty: choose another --out"
        )
    out.mkdir(parents=True, exist_ok=True)
    return out


def run_handoff(
    args: argparse.Namespace,
    load_topology: Callable[[str | None], Any],
    say: Callable[[str], None],
) -> int:
    """Run the handoff experiment; 0 if every move kept the invariant."""
    from flatmob_mn.experiments.handoff import (
        HandoffConfig,
        HandoffRun,
        finish,
        write_manifest,
    )

    definition = definition_from(args)
    spec = load_topology(
        None if definition.topology == "default" else definition.topology
    )
    if definition.mns:
        spec = dataclasses.replace(spec, mobile_nodes=definition.mns)
    if spec.mobile_nodes < 1:
        raise SpecError(
            f"{spec.source}: the experiment needs at least one mobile node"
        )
    if spec.ar_count < 2:
        raise SpecError(
            f"{spec.source}: the experiment needs at least two ARs to "
            "move between"
        )
    if os.geteuid() != 0:
        raise FlatmobError("this command needs root (Mininet and FRR)")
    cfg = HandoffConfig(
        moves=definition.moves,
        seed=definition.seed,
        probe_rate=definition.probe_rate,
        tcp_rate=definition.tcp_rate,
        keystore_processes=bool(getattr(args, "keystore_processes", False)),
    )
    out = output_folder(args)
    say(f"results in {out}")
    from flatmob_mn.topology.network import Network

    with Network(spec, progress=say, converge_timeout=args.timeout) as net:
        for note in net.emulation_notes:
            say(f"note: {note}")
        write_manifest(out, spec, cfg, list(net.emulation_notes))
        failed = HandoffRun(net, cfg, out, say).run(bar=_bar)
        say("tearing down")
    summary = finish(out, say)
    if failed or summary.get("failed_moves"):
        say(f"{failed} moves broke the no-stale-route invariant")
        return 1
    say("every move converged with no stale route")
    return 0


def _bar(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc="*** moves", unit="move")
