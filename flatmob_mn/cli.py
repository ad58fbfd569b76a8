"""The ``flatmob`` command: build, check, explore and measure the network."""

from __future__ import annotations

import argparse
import sys

from flatmob_mn.errors import FlatmobError


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every ``flatmob`` subcommand."""
    parser = argparse.ArgumentParser(prog="flatmob", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    clean = sub.add_parser("clean", help="remove what crashed runs left")
    clean.set_defaults(func=cmd_clean)
    return parser


def cmd_clean(args: argparse.Namespace) -> int:
    """Remove processes, links and directories of runs whose owner died."""
    from flatmob_mn import runstate

    done = runstate.clean_all()
    for line in done:
        print(f"*** removed {line}")
    if not done:
        print("*** nothing to clean")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the ``flatmob`` command and return its exit status."""
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
