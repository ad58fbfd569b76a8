"""Probe traffic through a run: UDP to every MN and one TCP flow.

The correspondent node (behind the border router, outside the AS) sends;
each MN records what arrives.  Every process is started in its node,
recorded in the run directory and ended by pid.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from flatmob_mn.measure import probe

CN_HOST = "cn1"
STOP_GRACE = 3.0


class Traffic:
    """UDP probes to every MN and one TCP flow to the first MN."""

    def __init__(
        self, net: Any, mobility: Any, probe_rate: float, tcp_rate: float
    ) -> None:
        self.net = net
        self.mobility = mobility
        self.probe_rate = probe_rate
        self.tcp_rate = tcp_rate
        self.dir = net.run.node_dir(CN_HOST)
        self.tcp_mn = sorted(net.mns)[0]
        self._receivers: list[subprocess.Popen] = []
        self._senders: list[subprocess.Popen] = []
        self.stopped = 0  # ns: when the senders were told to stop

    def probe_file(self, mn: str) -> Path:
        """Return the file where ``mn`` records its probes."""
        return self.mobility.dirs[mn] / "probes.bin"

    def _start(
        self, node: Any, role: str, out: Path, *args: str
    ) -> subprocess.Popen:
        argv = [
            sys.executable,
            "-m",
            "flatmob_mn.measure.probe",
            role,
            "--out",
            str(out),
            *args,
        ]
        proc = node.popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.net.run.record_process(proc.pid, f"probe {role}")
        return proc

    def start(self) -> None:
        """Start receivers, then senders."""
        targets = []
        for mn, node in sorted(self.net.mns.items()):
            self._receivers.append(
                self._start(node, "recv", self.probe_file(mn))
            )
            targets.append(self.mobility.status(mn)["addresses"][0])
        self._receivers.append(
            self._start(
                self.net.mns[self.tcp_mn],
                "tcp-recv",
                self.mobility.dirs[self.tcp_mn] / "tcp.json",
            )
        )
        time.sleep(0.3)  # let the receivers bind
        cn = self.net.hosts[CN_HOST]
        self._senders.append(
            self._start(
                cn,
                "send",
                self.dir / "probes.json",
                "--rate",
                str(self.probe_rate),
                *[arg for t in targets for arg in ("--to", t)],
            )
        )
        self._senders.append(
            self._start(
                cn,
                "tcp-send",
                self.dir / "tcp.json",
                "--rate",
                str(self.tcp_rate),
                "--to",
                targets[0],
            )
        )

    def stop(self) -> None:
        """Stop senders first, then receivers, each by its pid."""
        self.stopped = time.time_ns()
        for group in (self._senders, self._receivers):
            for proc in group:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in group:
                try:
                    proc.wait(STOP_GRACE)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            group.clear()

    def tcp_result(self) -> dict[str, Any]:
        """Return what the TCP flow did: survived, bytes, longest stall."""
        recv = _load(self.mobility.dirs[self.tcp_mn] / "tcp.json")
        send = _load(self.dir / "tcp.json")
        sent, received = send.get("sent", 0), recv.get("received", 0)
        # A flow survives when it never broke and, once the sender closed
        # it, every chunk had arrived in order (the last may be cut short
        # by the stop).
        survived = (
            bool(send.get("connected"))
            and send.get("error") is None
            and recv.get("error") is None
            and bool(recv.get("in_order"))
            and received > 0
            and received >= sent - 1
        )
        return {
            "survived": survived,
            "mn": self.tcp_mn,
            "sent": sent,
            "received": received,
            "max_gap_ms": recv.get("max_gap_ms"),
            "error": send.get("error") or recv.get("error"),
            "chunk_bytes": probe.TCP_CHUNK,
        }


def _load(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}
