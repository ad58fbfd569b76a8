"""udhcpc's script: put a lease on the MN's interface, touch nothing else.

udhcpc runs this file (through a shim in the run directory) as
``client_hook.py LEASE_FILE EVENT`` with the lease in its environment
(``ip``, ``mask``, ``router``, ``serverid``, ``lease`` and, for options
busybox does not know, ``optNNN`` in hex).  On ``bound`` and ``renew``
it adds the address as a /32 (the MN keeps it when it moves to ARs with
other pools), points the default route at the router on-link and writes
the lease as JSON to LEASE_FILE.  Other events are only logged: the MN
keeps its addresses across moves, so nothing is flushed.  It never
writes outside the folder of LEASE_FILE, and uses the standard library
only, since it runs as a plain script.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

CONFIGURE = ("bound", "renew")
HA_OPTION = 224


def decode_option_string(hex_value: str | None) -> str | None:
    """Decode a string option udhcpc exported in hex, or return None."""
    if not hex_value:
        return None
    try:
        raw = bytes.fromhex(hex_value)
        text = raw.rstrip(b"\0").decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    return text or None


def lease_from(env: dict[str, str]) -> dict:
    """Return the lease udhcpc describes in ``env``."""
    routers = env.get("router", "").split()
    return {
        "interface": env["interface"],
        "ip": env["ip"],
        "prefix_len": int(env.get("mask", "32")),
        "router": routers[0] if routers else None,
        "server_id": env.get("serverid"),
        "lease_time": int(env.get("lease", "0")),
        "ha_name": decode_option_string(env.get(f"opt{HA_OPTION}")),
        "opt224": env.get(f"opt{HA_OPTION}"),
    }


def configure(lease: dict) -> None:
    """Add the lease's address as a /32 and the default route."""
    dev = lease["interface"]
    _ip("addr", "replace", f"{lease['ip']}/32", "dev", dev)
    if lease["router"]:
        via = ["via", lease["router"], "dev", dev, "onlink"]
        _ip("route", "replace", "default", *via)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def write_json(path: str, obj: dict) -> None:
    """Write ``obj`` to ``path`` whole or not at all."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def log(path: str, event: str, env: dict[str, str]) -> None:
    """Append one line about ``event`` to the log beside the lease."""
    line = f"{time.time():.3f} {event} {env.get('interface', '?')}"
    if env.get("message"):
        line += f" {env['message']}"
    with open(f"{path}.events", "a") as f:
        f.write(line + "\n")


def main(argv: list[str]) -> int:
    """Run the script: ``LEASE_FILE EVENT``."""
    if len(argv) < 3:
        return 1
    path, event = argv[1], argv[2]
    env = dict(os.environ)
    log(path, event, env)
    if event not in CONFIGURE:
        return 0
    lease = lease_from(env)
    try:
        configure(lease)
    except (subprocess.CalledProcessError, OSError) as e:
        detail = getattr(e, "stderr", b"") or b""
        lease["error"] = f"{e}: {detail.decode(errors='replace').strip()}"
    lease["obtained_at"] = time.time()
    write_json(path, lease)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
