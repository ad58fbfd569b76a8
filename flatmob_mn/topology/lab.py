"""The interactive lab: Mininet's CLI on a running flat ISP.

Other modules add commands by subclassing :class:`LabCLI` (methods named
``do_<command>``) or by registering a function in ``COMMANDS``: it is
called as ``func(net, line)`` and prints its own output.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from mininet.cli import CLI

from flatmob_mn.topology.network import Network

# Extra lab commands: name -> (function(net, argument line), help text).
COMMANDS: dict[str, tuple[Callable[[Network, str], None], str]] = {}


class NodeMap(Mapping[str, Any]):
    """Every node of a Network by name, as Mininet's CLI expects."""

    def __init__(self, net: Network) -> None:
        self.net = net
        self.switches: list[Any] = []
        self.terms: list[Any] = []

    @property
    def links(self) -> list[Any]:
        """Return the Mininet links of the network."""
        return self.net.links

    def _names(self) -> list[str]:
        net = self.net
        return [*net.routers, *net.hosts, *net.mns]

    def __getitem__(self, name: str) -> Any:
        if name not in self._names():
            raise KeyError(name)
        return self.net.node(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


class LabCLI(CLI):
    """Mininet's CLI with the flat ISP's own commands."""

    prompt = "flatmob> "
    # Keep no history file: nothing is written outside the run folder.
    readlineInited = True

    def __init__(self, net: Network, stdin: Any = sys.stdin, **kwargs: Any):
        self.net = net
        super().__init__(NodeMap(net), stdin=stdin, **kwargs)

    def getLocals(self) -> dict[str, Any]:
        """Offer ``net`` (the Network) and every node to ``py``."""
        found = super().getLocals()
        found["net"] = self.net
        return found

    def do_routers(self, line: str) -> None:
        """List routers with their role, loopback and cluster."""
        for router in self.net.routers.values():
            cluster = f" cluster {router.agg}" if router.agg else ""
            lo = self.net.plan.loopbacks[router.name]
            print(f"{router.name:8} {router.role:6} {lo}{cluster}")

    def do_vtysh(self, line: str) -> None:
        """Run a vtysh command on a router: vtysh ROUTER COMMAND..."""
        name, _, cmd = line.partition(" ")
        if not name or not cmd:
            print("usage: vtysh ROUTER COMMAND...")
            return
        if name not in self.net.routers:
            print(f"no router {name!r}; have {', '.join(self.net.routers)}")
            return
        print(self.net.routers[name].vty.show(cmd), end="")

    def default(self, line: str) -> None:
        """Run a registered command, or a command on a node."""
        first, _, rest = line.partition(" ")
        if first in COMMANDS:
            COMMANDS[first][0](self.net, rest)
            return
        super().default(line)

    def completenames(self, text: str, *ignored: Any) -> list[str]:
        """Complete built-in and registered command names."""
        names = super().completenames(text, *ignored)
        return names + [c for c in COMMANDS if c.startswith(text)]


def _unsupported(self: LabCLI, line: str) -> None:
    """Say that this Mininet command needs switches or a Mininet object."""
    print("not available in the flatmob lab (no switches, no Mininet net)")


# Mininet commands that drive switches, controllers or Mininet.pingAll.
for _name in (
    "pingall", "pingpair", "pingallfull", "pingpairfull", "iperf",
    "iperfudp", "link", "switch", "dpctl", "ports", "wait",
):  # fmt: skip
    setattr(LabCLI, f"do_{_name}", _unsupported)


def run_lab(net: Network) -> None:
    """Run the lab's CLI on ``net`` until the user quits."""
    LabCLI(net)
