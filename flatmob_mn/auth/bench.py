"""Measure the authenticator's cost per AUTH message on this machine.

Figures, each the best of a few repeats of many iterations, in CPU
time of this process (``time.process_time``):

- one raw ECDH (the suite's exchange with an already loaded key);
- one parse of a peer's DER key followed by one exchange (for P-256,
  a newly loaded key also makes the exchange itself slower);
- one ``Authenticator.verify`` with a fresh ECDH (empty LTSS cache,
  so the peer's key is also parsed and validated);
- one ``verify`` with the LTSS cached;
- cached verifications per second on one core.

Targets: fresh at most 1.5 raw ECDH, cached at most 10 us, at least
10,000 cached verifications per second.  ``flatmob bench auth`` runs
:func:`main`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

from flatmob_mn.auth.keys import (
    LocalKeyStore,
    Suite,
    ecdh_secret,
    load_public_der,
)
from flatmob_mn.auth.protocol import Authenticator, Peer

MN = "mn1.bench.example"
AR = "ar1.bench.example"
T0 = 1_700_000_000.0

FRESH_FACTOR = 1.5
CACHED_LIMIT_US = 10.0
RATE_TARGET = 10_000


def _per_call(count: int, call: Callable[[], object]) -> float:
    """Return the CPU seconds of one call, over ``count`` calls."""
    start = time.process_time()
    for _ in range(count):
        call()
    return (time.process_time() - start) / count


def raw_ecdh(suite: Suite, count: int) -> float:
    """Return the CPU seconds of one exchange with a loaded key."""
    mine = suite.generate()
    theirs = load_public_der(
        LocalKeyStore.generate(MN, suite).public_key_der()
    )
    return _per_call(count, lambda: ecdh_secret(mine, theirs))


def parse_and_ecdh(suite: Suite, count: int) -> float:
    """Return the CPU seconds of parsing a peer's DER and one exchange."""
    mine = suite.generate()
    der = LocalKeyStore.generate(MN, suite).public_key_der()
    return _per_call(count, lambda: ecdh_secret(mine, load_public_der(der)))


def verify_cost(suite: Suite, count: int, cached: bool) -> float:
    """Return the CPU seconds of one ``verify`` (LTSS cached or not)."""
    clock = lambda: T0  # noqa: E731 -- every message is on time
    mn = LocalKeyStore.generate(MN, suite)
    ar = LocalKeyStore.generate(AR, suite, cache_size=4 if cached else 0)
    auth = Authenticator(ar, clock=clock, max_seen=count + 1)
    peer = Peer(mn, clock=clock)
    der, ar_der = mn.public_key_der(), ar.public_key_der()
    messages = [
        peer.start(
            AR,
            ar_der,
            auth.nonce,
            auth.epoch,
            reroute=True,
            addresses=("192.0.2.1",),
        )[0]
        for _ in range(count)
    ]
    auth.verify(
        peer.start(AR, ar_der, auth.nonce, auth.epoch, reroute=False)[0], der
    )  # warm the cache
    verify = auth.verify
    start = time.process_time()
    for data in messages:
        verify(data, der)
    return (time.process_time() - start) / count


def measure(
    suite: Suite, repeats: int, fresh: int, cached: int
) -> dict[str, float]:
    """Return the figures of ``suite`` in seconds (and per second).

    The three measurements take turns, so a change in the machine's
    load during the run touches them alike; each keeps its best repeat.
    """
    runs: dict[str, list[float]] = {
        "ecdh": [],
        "parse": [],
        "fresh": [],
        "cached": [],
    }
    for _ in range(repeats):
        runs["ecdh"].append(raw_ecdh(suite, fresh))
        runs["parse"].append(parse_and_ecdh(suite, fresh))
        runs["fresh"].append(verify_cost(suite, fresh, False))
        runs["cached"].append(verify_cost(suite, cached, True))
    figures = {name: min(values) for name, values in runs.items()}
    figures["rate"] = 1.0 / figures["cached"]
    return figures


def report(suite: Suite, figures: dict[str, float]) -> list[str]:
    """Return the report lines of one suite and whether targets are met."""
    ratio = figures["fresh"] / figures["ecdh"]
    cached_us = figures["cached"] * 1e6
    return [
        f"auth bench {suite.name}",
        f"  raw ECDH                  {figures['ecdh'] * 1e6:8.1f} us",
        f"  DER parse + ECDH          {figures['parse'] * 1e6:8.1f} us",
        f"  verify, fresh ECDH        {figures['fresh'] * 1e6:8.1f} us"
        f"  ({ratio:.2f} x ECDH; target <= {FRESH_FACTOR})"
        f"  {'met' if ratio <= FRESH_FACTOR else 'MISSED'}",
        f"  verify, cached LTSS       {cached_us:8.2f} us"
        f"  (target <= {CACHED_LIMIT_US:.0f} us)"
        f"  {'met' if cached_us <= CACHED_LIMIT_US else 'MISSED'}",
        f"  cached verify per second  {figures['rate']:8.0f} per core"
        f"  (target >= {RATE_TARGET})"
        f"  {'met' if figures['rate'] >= RATE_TARGET else 'MISSED'}",
    ]


def targets_met(figures: dict[str, float]) -> bool:
    """Tell whether the figures of one suite meet every target."""
    return (
        figures["fresh"] <= FRESH_FACTOR * figures["ecdh"]
        and figures["cached"] * 1e6 <= CACHED_LIMIT_US
        and figures["rate"] >= RATE_TARGET
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Print the figures; return 0 if every target is met, else 1."""
    parser = argparse.ArgumentParser(prog="flatmob bench auth")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--fresh",
        type=int,
        default=2000,
        help="messages per fresh-ECDH repeat",
    )
    parser.add_argument(
        "--cached", type=int, default=20000, help="messages per cached repeat"
    )
    parser.add_argument(
        "--suite",
        choices=[s.name for s in Suite],
        action="append",
        help="default: every suite",
    )
    args = parser.parse_args(argv)
    suites = [Suite[n] for n in args.suite] if args.suite else list(Suite)
    ok = True
    for suite in suites:
        figures = measure(suite, args.repeats, args.fresh, args.cached)
        print("\n".join(report(suite, figures)))
        ok = ok and targets_met(figures)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
