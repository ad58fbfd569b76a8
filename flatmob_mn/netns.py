"""Run a block of code in another process's network namespace.

Only the calling thread changes namespace (``setns(2)`` acts on one
task), so the rest of the program keeps its own.  Sockets opened inside
the block stay in the node's namespace after it ends.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flatmob_mn.errors import NamespaceError

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextmanager
def entered(pid: int) -> Iterator[None]:
    """Run the block in the network namespace of process ``pid``.

    :raises NamespaceError: if the namespace cannot be entered.
    """
    tid = threading.get_native_id()
    own = os.open(f"/proc/self/task/{tid}/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    except OSError as e:
        os.close(own)
        raise NamespaceError(f"no network namespace for pid {pid}") from e
    try:
        try:
            _setns(target)
        except OSError as e:
            raise NamespaceError(f"cannot enter namespace of {pid}") from e
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)
