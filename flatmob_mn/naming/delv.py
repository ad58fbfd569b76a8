"""Independent validation with BIND's ``delv``, for checks and tests."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import dns.name

from flatmob_mn.naming.anchors import read_anchors
from flatmob_mn.naming.errors import DelvError


def delv_argv(
    server: tuple[str, int], anchors_file: Path, name: str, rdtype: str
) -> list[str]:
    """Return delv's command line validating ``name`` from its zone."""
    qname = dns.name.from_text(name)
    zones = [
        zone
        for zone in read_anchors(anchors_file)
        if qname.is_subdomain(dns.name.from_text(zone))
    ]
    if not zones:
        raise DelvError(f"{name}: no trust anchor in {anchors_file}")
    zone = max(zones, key=len)
    host, port = server
    return [
        "delv",
        f"@{host}",
        "-p",
        str(port),
        "-a",
        str(anchors_file),
        f"+root={zone}",
        name,
        rdtype,
    ]


def delv_check(
    server: tuple[str, int],
    anchors_file: Path,
    name: str,
    rdtype: str,
    *,
    node: Any = None,
    timeout: float = 10.0,
) -> bool:
    """Validate ``name``/``rdtype`` with delv, inside ``node`` if given.

    :returns: True for a validated answer, False for a validated proof
        that the record does not exist.
    :raises DelvError: if validation fails; the message holds delv's
        output.
    """
    argv = delv_argv(server, Path(anchors_file), name, rdtype)
    popen = node.popen if node is not None else subprocess.Popen
    process = popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as e:
        process.kill()
        process.communicate()
        raise DelvError(
            f"delv {name} {rdtype}: no result in {timeout} s"
        ) from e
    text = out.decode(errors="replace")
    if "; negative response, fully validated" in text:
        return False
    if process.returncode == 0 and "; fully validated" in text:
        return True
    raise DelvError(f"delv {name} {rdtype} did not validate:\n{text}")
