"""Topology: specs and address plans in, a running emulated flat ISP out.

``spec`` reads TOML specs, ``layout`` names routers and links,
``addressing`` computes the address plan, ``frrconf`` maps both to FRR
models, ``network`` builds and runs everything in Mininet, ``check``
verifies it, ``lab`` explores it and ``bench`` measures it.

``from flatmob_mn.topology import Network`` imports Mininet lazily, so
the pure parts can be used without it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Network", "TopologySpec", "default_spec", "load_spec"]


def __getattr__(name: str) -> Any:
    if name == "Network":
        from flatmob_mn.topology.network import Network

        return Network
    if name in ("TopologySpec", "default_spec", "load_spec"):
        from flatmob_mn.topology import spec

        return getattr(spec, name)
    raise AttributeError(name)
