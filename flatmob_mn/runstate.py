"""Run directories: where one emulation keeps its files and its records.

Every process a run starts (node shells, FRR daemons, DNS and DHCP
servers, agents) and every link it creates in the root namespace is
recorded in the run's directory as soon as it exists.  ``flatmob clean``
reads these records after a crash and ends exactly those processes, by
pid, after checking the pid still names the same process (its start time
in ``/proc``), so a recycled pid is never killed.

Layout of one run directory, ``$FLATMOB_RUN_ROOT/<run-id>/``::

    owner         pid and start time of the controlling process
    processes     one JSON object a line: pid, start, label
    links         one root-namespace interface name a line
    <node>/       private folder of each node (daemon files, sockets)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flatmob_mn.errors import RunStateError

RUN_ROOT_ENV = "FLATMOB_RUN_ROOT"
DEFAULT_RUN_ROOT = "/run/flatmob"


def run_root() -> Path:
    """Return the folder that holds every run directory."""
    return Path(os.environ.get(RUN_ROOT_ENV, DEFAULT_RUN_ROOT))


def process_start(pid: int) -> int | None:
    """Return the start time of ``pid`` in clock ticks, or None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; fields after it don't.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


@dataclass(frozen=True)
class ProcessRecord:
    """One process started by a run."""

    pid: int
    start: int
    label: str

    def alive(self) -> bool:
        """Tell whether the recorded process still runs (same start)."""
        return process_start(self.pid) == self.start


class RunDir:
    """The directory and records of one emulation run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, run_id: str | None = None) -> RunDir:
        """Make a new run directory and record this process as its owner."""
        run_id = run_id or time.strftime("%Y%m%d-%H%M%S-") + str(os.getpid())
        path = run_root() / run_id
        path.mkdir(parents=True, exist_ok=False)
        path.chmod(0o755)
        me = os.getpid()
        owner = {"pid": me, "start": process_start(me)}
        (path / "owner").write_text(json.dumps(owner) + "\n")
        return cls(path)

    @property
    def run_id(self) -> str:
        """Return the run's id, the directory's name."""
        return self.path.name

    def node_dir(self, node: str, owner: str | None = None) -> Path:
        """Return (making it) the private folder of ``node``.

        :param owner: user that must own the folder (FRR runs as ``frr``).
        """
        path = self.path / node
        path.mkdir(exist_ok=True)
        if owner is not None:
            shutil.chown(path, owner, owner)
        return path

    def record_process(self, pid: int, label: str) -> None:
        """Record a process this run started, so that clean can end it."""
        start = process_start(pid)
        if start is None:
            raise RunStateError(f"process {pid} ({label}) exited at once")
        line = json.dumps({"pid": pid, "start": start, "label": label})
        with open(self.path / "processes", "a") as f:
            f.write(line + "\n")

    def record_link(self, name: str) -> None:
        """Record an interface this run made in the root namespace."""
        with open(self.path / "links", "a") as f:
            f.write(name + "\n")

    def processes(self) -> list[ProcessRecord]:
        """Return every process recorded for this run."""
        try:
            lines = (self.path / "processes").read_text().splitlines()
        except FileNotFoundError:
            return []
        return [ProcessRecord(**json.loads(line)) for line in lines if line]

    def links(self) -> list[str]:
        """Return every root-namespace link recorded for this run."""
        try:
            text = (self.path / "links").read_text()
        except FileNotFoundError:
            return []
        return [name for name in text.splitlines() if name]

    def pidfile_processes(self) -> list[ProcessRecord]:
        """Return daemons named by pid files in the run's node folders.

        A daemon may have written its pid file before its start was
        recorded; it counts only if its command line names a file in
        this run directory, so no other process is ever taken for it.
        """
        found = []
        for path in sorted(self.path.glob("*/*.pid")):
            try:
                pid = int(path.read_text().split()[0])
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except (OSError, ValueError, IndexError):
                continue
            start = process_start(pid)
            if start is not None and str(self.path).encode() in cmdline:
                found.append(ProcessRecord(pid, start, path.name))
        return found

    def owner_alive(self) -> bool:
        """Tell whether the process that made this run still runs."""
        try:
            owner = json.loads((self.path / "owner").read_text())
        except (OSError, ValueError):
            return False
        return process_start(owner["pid"]) == owner["start"]

    def clean(self, grace: float = 3.0) -> list[str]:
        """End the run's processes, delete its links and its directory.

        :returns: one line for each thing that was removed.
        """
        recorded = self.processes()
        known = {r.pid for r in recorded}
        extra = [r for r in self.pidfile_processes() if r.pid not in known]
        done = end_processes(recorded + extra, grace)
        for name in self.links():
            if Path(f"/sys/class/net/{name}").exists():
                subprocess.run(
                    ["ip", "link", "del", name],
                    capture_output=True,
                    check=False,
                )
                done.append(f"link {name}")
        shutil.rmtree(self.path, ignore_errors=True)
        done.append(f"run directory {self.path}")
        return done


def end_processes(
    records: list[ProcessRecord], grace: float = 3.0
) -> list[str]:
    """Send SIGTERM to live recorded processes, then SIGKILL stragglers."""
    live = [r for r in records if r.alive()]
    for record in live:
        _signal(record, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(r.alive() for r in live):
        time.sleep(0.05)
    for record in live:
        if record.alive():
            _signal(record, signal.SIGKILL)
    return [f"process {r.pid} ({r.label})" for r in live]


def _signal(record: ProcessRecord, sig: signal.Signals) -> None:
    try:
        os.kill(record.pid, sig)
    except ProcessLookupError:
        pass


def all_runs() -> Iterator[RunDir]:
    """Yield every run directory under the run root."""
    root = run_root()
    if not root.is_dir():
        return
    for path in sorted(root.iterdir()):
        if path.is_dir():
            yield RunDir(path)


def clean_all(force: bool = False) -> list[str]:
    """Clean every run whose owner is gone (every run, with ``force``)."""
    done: list[str] = []
    for run in all_runs():
        if force or not run.owner_alive():
            done.extend(run.clean())
    return done
