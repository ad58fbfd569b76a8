"""dnsmasq's lease-change script: tell the AR agent of each lease event.

dnsmasq runs this file (through a shim in the run directory) as
``lease_hook.py SOCKET AR ACTION MAC IP [HOSTNAME]`` with more details
in ``DNSMASQ_*`` variables.  For ``add``, ``old`` and ``del`` it sends
one JSON object as one datagram to the AR agent's Unix socket; if
nobody listens the event is dropped.  It uses the standard library
only, since it runs as a plain script.
"""

from __future__ import annotations

import json
import os
import socket
import sys

ACTIONS = ("add", "old", "del")


def event_from(argv: list[str], env: dict[str, str]) -> dict | None:
    """Return the event for one call of the script, or None to ignore."""
    ar, action, *rest = argv
    if action not in ACTIONS or len(rest) < 2:
        return None
    mac, ip = rest[0], rest[1]
    lease_name = rest[2] if len(rest) > 2 else None
    expires = env.get("DNSMASQ_LEASE_EXPIRES")
    return {
        "ar": ar,
        "action": action,
        "mac": mac.lower(),
        "ip": ip,
        # dnsmasq keeps only the first label as the lease's name; the
        # name the MN sent is whole.
        "hostname": env.get("DNSMASQ_SUPPLIED_HOSTNAME") or lease_name,
        "client_id": env.get("DNSMASQ_CLIENT_ID"),
        "interface": env.get("DNSMASQ_INTERFACE"),
        "expires": int(expires) if expires else None,
    }


def send(path: str, event: dict) -> None:
    """Send ``event`` to ``path``; drop it if nobody listens there."""
    data = json.dumps(event, sort_keys=True).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        try:
            sock.sendto(data, path)
        except OSError:
            pass


def main(argv: list[str]) -> int:
    """Run the script: ``SOCKET AR ACTION MAC IP [HOSTNAME]``."""
    if len(argv) < 3:
        return 0
    event = event_from(argv[2:], dict(os.environ))
    if event is not None:
        send(argv[1], event)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
