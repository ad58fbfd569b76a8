"""Mobility in the lab and in ``flatmob check``.

Lab commands, registered on a running :class:`Mobility`:

- ``move MN AR``: move an MN's access link; wait until it has
  re-authenticated; report the time it took and where routes now go;
- ``whereis MN``: the AR an MN is attached to, its addresses, state and
  Home Agent;
- ``hostroutes [ROUTER]``: the MN host routes in one router's FIB, or a
  count in every router.

``dns_checks`` validates, with Debian's ``delv`` and the trust anchors
fixed at build time, what an attachment leaves in DNS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flatmob_mn.agents.deploy import Mobility, dns_name
from flatmob_mn.errors import FlatmobError
from flatmob_mn.naming import delv_check
from flatmob_mn.naming.records import nonce_owner, reverse_name, tlsa_owner


def lab_commands(mob: Mobility) -> dict[str, tuple[Callable, str]]:
    """Return the lab commands bound to ``mob``."""

    def move(net: Any, line: str) -> None:
        args = line.split()
        if len(args) != 2:
            print("usage: move MN AR")
            return
        try:
            result = mob.move(args[0], args[1])
        except FlatmobError as exc:
            print(f"move failed: {exc}")
            return
        if result.old_ar == result.new_ar:
            print(f"{result.mn} is already attached to {result.new_ar}")
            return
        took = (result.t_attached - result.t_move) / 1e6
        print(
            f"{result.mn}: {result.old_ar} -> {result.new_ar}, "
            f"re-authenticated in {took:.1f} ms, addresses "
            f"{', '.join(result.addresses)}"
        )
        problems = mob.wait_invariant(10)
        print(
            "routes: every router forwards to " + result.new_ar
            if not problems
            else "routes: " + "; ".join(problems)
        )

    def whereis(net: Any, line: str) -> None:
        names = line.split() or sorted(net.mns)
        for mn in names:
            try:
                s = mob.status(mn)
            except FlatmobError as exc:
                print(exc)
                continue
            print(
                f"{mn:6} at {net.access_of(mn):6} state {s['state']:10} "
                f"addresses {', '.join(s['addresses']) or '-'}  "
                f"home agent {s['ha'] or '-'}"
            )

    def hostroutes(net: Any, line: str) -> None:
        names = line.split()
        if not names:
            for router in net.routers:
                rows = mob.host_routes(router)
                print(f"{router:8} {len(rows)} host routes")
            return
        for router in names:
            try:
                rows = mob.host_routes(router)
            except FlatmobError as exc:
                print(exc)
                continue
            for address, kind in rows:
                print(f"{router:8} {address:16} {kind}")
            if not rows:
                print(f"{router:8} no host routes")

    return {
        "move": (move, "move MN AR: move an MN to another AR"),
        "whereis": (whereis, "whereis [MN]: where MNs are attached"),
        "hostroutes": (
            hostroutes,
            "hostroutes [ROUTER]: MN host routes in FIBs",
        ),
    }


def dns_checks(mob: Mobility) -> list[str]:
    """Validate keys, nonces, addresses and PTRs with delv."""
    ns = mob.nameserver
    if ns is None:
        return ["the name server is not running"]
    net = mob.net
    ar = net.ars[0]
    wanted = [
        (tlsa_owner(dns_name(ar)), "TLSA"),
        (nonce_owner(dns_name(ar)), "TXT"),
    ]
    if net.mns:
        mn = sorted(net.mns)[0]
        address = mob.status(mn)["addresses"][0]
        wanted += [
            (tlsa_owner(dns_name(mn)), "TLSA"),
            (dns_name(mn), "A"),
            (reverse_name(address), "PTR"),
        ]
    anchors = ns.build().anchors
    node = net.routers[ar].node
    failures = []
    for name, rdtype in wanted:
        try:
            if not delv_check(ns.server, anchors, name, rdtype, node=node):
                failures.append(f"{ar}: delv proves {name} {rdtype} absent")
        except FlatmobError as exc:
            failures.append(f"{ar}: delv {name} {rdtype}: {exc}")
    return failures
