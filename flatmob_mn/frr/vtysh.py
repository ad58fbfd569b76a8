"""Talk to one router's FRR daemons through ``vtysh`` inside its node."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Protocol

from flatmob_mn.errors import FrrError


class _Node(Protocol):
    name: str

    def popen(self, *args: Any, **kwargs: Any) -> subprocess.Popen: ...


class Vty:
    """The vtysh of one router: show commands as JSON, and configuration.

    :param router: anything with ``name``, ``node`` (a Mininet node) and
        ``dir`` (the folder holding the daemons' vty sockets).
    """

    def __init__(self, router: Any, timeout: float = 30.0) -> None:
        self.name: str = router.name
        self.node: _Node = router.node
        self.socket_dir: Path = router.dir
        self.timeout = timeout

    def run(self, args: list[str]) -> str:
        """Run vtysh with ``args`` and return its output.

        :raises FrrError: vtysh failed or printed an error.
        """
        cmd = ["vtysh", "--vty_socket", str(self.socket_dir), *args]
        proc = self.node.popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            out, _ = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            proc.wait()
            raise FrrError(f"{self.name}: vtysh timed out: {args}") from exc
        text = out.decode(errors="replace")
        if proc.returncode != 0 or _failed(text):
            message = text.strip().replace("\n", " ")
            raise FrrError(f"{self.name}: {message or 'vtysh failed'}")
        return text

    def show(self, cmd: str) -> str:
        """Return the text output of one show command."""
        return self.run(["-c", cmd])

    def json(self, cmd: str) -> Any:
        """Run a show command ending in ``json`` and return its value.

        :raises FrrError: the daemon is down or the output is not JSON.
        """
        text = self.show(cmd)
        try:
            return json.loads(text)
        except ValueError as exc:
            raise FrrError(
                f"{self.name}: '{cmd}' returned no JSON: {text[:200]!r}"
            ) from exc

    def config(self, lines: list[str]) -> None:
        """Apply ``lines`` in one ``configure terminal`` session.

        :raises FrrError: FRR rejected a line.
        """
        args = ["-c", "configure terminal"]
        for line in lines:
            args += ["-c", line]
        self.run(args)


_ERRORS = (
    "% Unknown command",
    "% Invalid",
    "% Ambiguous command",
    "% Command incomplete",
    "% Can't",
    "% Specified",
    "% Malformed",
    "% Failed",
    "% No such",
    "Exiting: failed to connect",
    "is not running",
)


def _failed(text: str) -> bool:
    # vtysh exits 0 on some rejected lines; its messages start with '%'.
    return any(marker in text for marker in _ERRORS)
