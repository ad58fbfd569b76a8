"""Process and file helpers shared by the DHCP server and client."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from flatmob_mn.errors import DhcpError
from flatmob_mn.runstate import RunDir

# Longest path a Unix socket address holds (sun_path, with its NUL).
MAX_SOCKET_PATH = 107


def owning_run(path: Path) -> RunDir:
    """Return the run directory that holds ``path``.

    :raises DhcpError: if no folder above ``path`` is a run directory.
    """
    path = path.resolve()
    for folder in (path, *path.parents):
        if (folder / "owner").is_file():
            return RunDir(folder)
    raise DhcpError(f"{path} is not inside a run directory")


def write_hook(path: Path, script: Path, args: list[str]) -> None:
    """Write an executable shim that runs ``script`` with ``args`` first.

    dnsmasq and udhcpc call their scripts with no arguments of ours, so
    the shim carries them.  ``-I -S`` keep the user's environment and
    all site packages out of the hook (it needs the standard library
    only) and save a few ms of start-up on every DHCP event.
    """
    argv = [sys.executable, "-I", "-S", str(script), *args]
    path.write_text(f'#!/bin/sh\nexec {shlex.join(argv)} "$@"\n')
    path.chmod(0o755)


def end(popen: subprocess.Popen, grace: float = 3.0) -> None:
    """End a started process by its pid and reap it."""
    if popen.poll() is None:
        popen.terminate()
        try:
            popen.wait(grace)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


def remove(path: Path) -> None:
    """Remove a file if it exists."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
