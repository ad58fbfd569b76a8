"""The ``flatmob`` command: build, check, explore and measure the network."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from flatmob_mn.errors import FlatmobError, SpecError

TOPOLOGIES = Path(__file__).resolve().parent.parent / "topologies"

# bench subcommands: name -> (module:function, help).  Each function is
# called with the remaining arguments and returns an exit status.
BENCHES = {
    "topology": (
        "flatmob_mn.topology.bench:main",
        "build time, convergence time and memory for 16 and 64 ARs",
    ),
    "auth": ("flatmob_mn.auth.bench:main", "authentication protocol"),
    "naming": ("flatmob_mn.naming.bench:main", "DNS lookups and updates"),
    "agent": (
        "flatmob_mn.agents.bench:main",
        "the AR agent's work per handoff, cold and warm DNS cache",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every ``flatmob`` subcommand."""
    parser = argparse.ArgumentParser(prog="flatmob", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser(
        "check", help="build, wait for convergence, verify, tear down"
    )
    _topology_option(check)
    check.set_defaults(func=cmd_check)

    lab = sub.add_parser("lab", help="Mininet's CLI on a running network")
    _topology_option(lab)
    lab.set_defaults(func=cmd_lab)

    run = sub.add_parser("run", help="run an experiment")
    run.add_argument("experiment", choices=["handoff"])
    run.add_argument(
        "--definition",
        metavar="FILE",
        help="experiment definition (default: experiments/handoff.toml)",
    )
    run.add_argument(
        "--topology",
        metavar="FILE",
        help="topology spec or a name in topologies/",
    )
    run.add_argument("--mns", type=int, help="mobile nodes")
    run.add_argument("--moves", type=int, help="moves to carry out")
    run.add_argument("--seed", type=int, help="seed of the schedule")
    run.add_argument(
        "--out",
        metavar="DIR",
        help="results folder (default: results/<run-id>)",
    )
    run.add_argument(
        "--keystore-processes",
        action="store_true",
        help="keep each agent's private key in a key store process",
    )
    run.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds to wait for convergence",
    )
    run.set_defaults(func=cmd_run)

    # `flatmob plot ...` is parsed by the plot module itself (see main);
    # this entry only lists it in the help.
    sub.add_parser(
        "plot",
        help="redraw a results folder's plots: plot DIR [--move INDEX] "
        "[--write-summary]",
    )

    clean = sub.add_parser("clean", help="remove what crashed runs left")
    clean.set_defaults(func=cmd_clean)

    bench = sub.add_parser("bench", help="measure parts of the toolkit")
    bench.add_argument("what", choices=sorted(BENCHES))
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    bench.set_defaults(func=cmd_bench)
    return parser


def _topology_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--topology",
        metavar="FILE",
        help="TOML topology spec, or the name of one in topologies/ "
        "(default: the built-in default)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds to wait for convergence (default: 120)",
    )


def load_topology(name: str | None):  # noqa: ANN201 - TopologySpec
    """Return the spec named on the command line, or the default.

    :raises SpecError: the file is missing or malformed.
    """
    from flatmob_mn.topology.spec import default_spec, load_spec

    if name is None:
        return default_spec()
    path = Path(name)
    if not path.exists() and (TOPOLOGIES / f"{name}.toml").exists():
        path = TOPOLOGIES / f"{name}.toml"
    if not path.exists():
        known = sorted(p.stem for p in TOPOLOGIES.glob("*.toml"))
        raise SpecError(
            f"{name}: no such spec file, nor a spec of that name "
            f"(known names: {', '.join(known)})"
        )
    return load_spec(path)


def _need_root() -> None:
    if os.geteuid() != 0:
        raise FlatmobError("this command needs root (Mininet and FRR)")


def _say(line: str) -> None:
    print(f"*** {line}", flush=True)


def _network(args: argparse.Namespace):  # noqa: ANN202 - Network
    spec = load_topology(args.topology)
    _need_root()
    from flatmob_mn.topology.network import Network

    _say(f"topology {spec.name} from {spec.source}")
    return Network(spec, progress=_say, converge_timeout=args.timeout)


def cmd_check(args: argparse.Namespace) -> int:
    """Build the network, verify its routing and DNS, tear it down."""
    from flatmob_mn.agents.deploy import Mobility
    from flatmob_mn.agents.lab import dns_checks
    from flatmob_mn.topology.check import CheckResult, run_checks

    failed = 0
    with _network(args) as net:
        for note in net.emulation_notes:
            _say(f"note: {note}")
        results = list(run_checks(net))
        mob = Mobility(net, progress=_say)
        try:
            mob.start()
            results.append(CheckResult("attachment", mob.check_invariant()))
            results.append(CheckResult("DNSSEC (delv)", dns_checks(mob)))
        finally:
            mob.stop()
        for result in results:
            if result.ok:
                _say(f"{result.name}: ok")
                continue
            failed += 1
            _say(f"{result.name}: FAILED")
            for line in result.failures:
                _say(f"  {line}")
        _say("tearing down")
    _say("all checks passed" if not failed else f"{failed} checks failed")
    return 1 if failed else 0


def cmd_lab(args: argparse.Namespace) -> int:
    """Run the interactive lab on a running network with mobility."""
    from flatmob_mn.agents.deploy import Mobility
    from flatmob_mn.agents.lab import lab_commands
    from flatmob_mn.topology.lab import COMMANDS, run_lab

    with _network(args) as net:
        for note in net.emulation_notes:
            _say(f"note: {note}")
        mob = Mobility(net, progress=_say)
        try:
            mob.start()
            COMMANDS.update(lab_commands(mob))
            _say(
                "lab commands: move MN AR, whereis [MN], "
                "hostroutes [ROUTER], routers, vtysh ROUTER CMD"
            )
            run_lab(net)
        finally:
            mob.stop()
        _say("tearing down")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run the handoff experiment and write its results folder."""
    from flatmob_mn.experiments.run import run_handoff

    return run_handoff(args, load_topology, _say)


def cmd_clean(args: argparse.Namespace) -> int:
    """Remove processes, links and directories of runs whose owner died."""
    from flatmob_mn import runstate

    _need_root()
    done = runstate.clean_all()
    for line in done:
        _say(f"removed {line}")
    if not done:
        _say("nothing to clean")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Run one benchmark, importing it only when asked."""
    target = BENCHES[args.what][0]
    module, _, func = target.partition(":")
    try:
        entry = getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError) as exc:
        raise FlatmobError(f"bench {args.what} is not available") from exc
    if args.what in ("topology", "agent"):
        _need_root()
    return int(entry(args.rest))


def main(argv: list[str] | None = None) -> int:
    """Run the ``flatmob`` command and return its exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["plot"]:
        from flatmob_mn.plot import main as plot_main

        return int(plot_main(argv[1:]))
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except FlatmobError as exc:
        print(f"flatmob: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("flatmob: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
