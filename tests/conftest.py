"""Shared fixtures: root detection and the leftover check.

Every test that needs root runs under ``no_leftovers``: after the test,
no run directory, recorded process, emulation daemon, namespace or
root-namespace link that the test made may remain.

Other test runs and emulations may run on the same machine at the same
time: a daemon counts as this session's only if it carries the
session's token in its environment (every process this session starts
inherits it) or descends from this process; a run directory only if its
owner is such a process or is gone.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from flatmob_mn import runstate

SESSION_ENV = "FLATMOB_TEST_SESSION"
SESSION = f"{os.getpid()}-{time.time_ns()}"
os.environ[SESSION_ENV] = SESSION

# Daemons and clients the emulation starts; a new one alive after a test
# is a leftover.  (Only compared, never signalled, by this check.)
WATCHED = {
    "zebra",
    "bgpd",
    "ospfd",
    "staticd",
    "watchfrr",
    "knotd",
    "named",
    "dnsmasq",
    "udhcpc",
    "busybox",
    "kea-dhcp4",
    "mnexec",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long",
        action="store_true",
        help="run long modes (fuzzing with 100,000 inputs and the like)",
    )


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    is_root = os.geteuid() == 0
    for item in items:
        if "root" in item.keywords and not is_root:
            item.add_marker(pytest.mark.skip(reason="needs root"))
        if "slow" in item.keywords and not config.getoption("--long"):
            item.add_marker(pytest.mark.skip(reason="long mode: --long"))


def _ours(pid: int) -> bool:
    """Tell whether ``pid`` was started by this test session."""
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    if f"{SESSION_ENV}={SESSION}".encode() in env.split(b"\0"):
        return True
    me = os.getpid()
    while pid > 1:
        if pid == me:
            return True
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat[stat.rindex(")") + 2 :].split()[1])
    return False


def _watched_pids() -> set[tuple[int, str]]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm in WATCHED and _ours(int(entry.name)):
            found.add((int(entry.name), comm))
    return found


def _root_links() -> set[str]:
    return set(os.listdir("/sys/class/net"))


def _netns() -> set[str]:
    out = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=False
    ).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def _runs() -> set[str]:
    return {run.run_id for run in runstate.all_runs() if _our_run(run)}


def _our_run(run: runstate.RunDir) -> bool:
    try:
        owner = json.loads((run.path / "owner").read_text())
    except (OSError, ValueError):
        return True
    if runstate.process_start(owner["pid"]) != owner["start"]:
        return True
    return _ours(owner["pid"])


def snapshot() -> dict[str, set]:
    """Return what the machine holds that a run could leave behind."""
    return {
        "processes": _watched_pids(),
        "links": _root_links(),
        "namespaces": _netns(),
        "run directories": _runs(),
    }


def leftovers(before: dict[str, set], wait: float = 5.0) -> dict[str, set]:
    """Return what appeared since ``before`` and is still there."""
    deadline = time.monotonic() + wait
    while True:
        after = snapshot()
        extra = {k: after[k] - before[k] for k in before}
        extra = {k: v for k, v in extra.items() if v}
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.2)


@pytest.fixture
def no_leftovers():
    """Fail the test if it leaves processes, links or state behind."""
    before = snapshot()
    yield
    extra = leftovers(before)
    assert not extra, f"left behind: {extra}"


@pytest.fixture(autouse=True)
def _check_root_tests(request: pytest.FixtureRequest):
    if "root" in request.keywords:
        request.getfixturevalue("no_leftovers")
    yield
