"""What both agents share: key store, DNS updater and process life.

An agent is a process started inside its node with one argument, its
JSON configuration file.  It logs to ``agent.log`` in its node folder
and runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flatmob_mn import auth, naming
from flatmob_mn.agents import config

C = TypeVar("C")

# TTL of the A and PTR records agents write: long enough that a repeat
# handoff finds them in the AR's cache.
RECORD_TTL = 60


def updater(dns: config.DnsAccess) -> naming.Updater:
    """Return an updater signing with a node's own TSIG key."""
    return naming.Updater(
        (dns.server, dns.port),
        dns.tsig_name,
        base64.b64decode(dns.tsig_secret),
        ttl=RECORD_TTL,
    )


def keystore(cfg: Any) -> Any:
    """Return the agent's key store: local, or a key-store process."""
    if cfg.keystore_socket:
        return auth.RemoteKeyStore(cfg.keystore_socket)
    return auth.LocalKeyStore.load(Path(cfg.key_file), cfg.name)


def serve_forever(run: Any) -> int:
    """Run an agent's coroutine until SIGTERM or SIGINT."""

    async def guarded() -> None:
        task = asyncio.ensure_future(run())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            pass

    asyncio.run(guarded())
    return 0


def run_agent(
    config_type: type[C],
    agent_type: Callable[[C], Any],
    argv: list[str] | None = None,
) -> int:
    """Read the configuration named by ``argv`` and run the agent."""
    argv = sys.argv[1:] if argv is None else argv
    cfg: Any = config.load(config_type, Path(argv[0]))
    logging.basicConfig(
        filename=str(Path(cfg.dir) / "agent.log"),
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    return serve_forever(agent_type(cfg).run)
