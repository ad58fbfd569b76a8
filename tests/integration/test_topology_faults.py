"""Faults: interrupted builds, killed runs, ``flatmob clean``, bad specs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flatmob_mn import runstate
from flatmob_mn.errors import TopologyError
from flatmob_mn.runstate import RunDir, process_start
from flatmob_mn.topology.network import Network
from flatmob_mn.topology.spec import load_spec

pytestmark = pytest.mark.root

ROOT = Path(__file__).parents[2]
TINY = ROOT / "topologies" / "tiny.toml"
BAD_SPEC = ROOT / "tests" / "unit" / "topology" / "specs" / "cores_zero.toml"

# Builds the tiny network, prints each step, then waits to be killed.
BUILDER = """
import sys, time
from flatmob_mn.topology.network import Network
from flatmob_mn.topology.spec import load_spec
net = Network(load_spec(sys.argv[1]), progress=lambda l: print(l, flush=True))
net.start()
print("READY", flush=True)
time.sleep(600)
"""


def _flatmob(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flatmob_mn.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _builder() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", BUILDER, str(TINY)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read_until(proc: subprocess.Popen, marker: str) -> Path:
    """Read the builder's lines up to ``marker``; return its run folder."""
    run = None
    for line in proc.stdout:
        line = line.removeprefix("*** ")
        if line.startswith("run directory "):
            run = Path(line.split()[-1])
        if line.startswith(marker.removeprefix("*** ")):
            assert run is not None
            return run
    proc.wait()
    raise AssertionError(f"builder ended early: {proc.stderr.read()}")


def _recorded_pids(run: Path) -> list[int]:
    text = (run / "processes").read_text()
    return [json.loads(line)["pid"] for line in text.splitlines()]


def _all_gone(pids: list[int], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while any(process_start(p) is not None for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_interrupt_after_routers_start_tears_down():
    seen = {}

    def progress(line: str) -> None:
        if line.startswith("routers started"):
            seen["run"] = net.run
            seen["pids"] = [
                p.pid for r in net.routers.values() for p in r.procs.values()
            ]
            raise KeyboardInterrupt

    net = Network(load_spec(TINY), progress=progress)
    with pytest.raises(KeyboardInterrupt), net:
        pytest.fail("the build must not finish")
    assert len(seen["pids"]) == 2 + 3 * 7
    assert not seen["run"].path.exists()
    assert _all_gone(seen["pids"])


def test_failing_service_tears_down():
    def start(net: Network) -> None:
        raise RuntimeError("service failed")

    net = Network(load_spec(TINY))
    net.add_service(start, lambda net: None)
    with pytest.raises(RuntimeError, match="service failed"), net:
        pass
    assert net.run is None
    assert net.routers["ar1"].procs["zebra"].poll() is not None


def test_services_start_after_convergence_and_stop_first():
    events = []

    def start(net: Network) -> None:
        zebra = net.routers["ar1"].procs["zebra"]
        events.append(("start", zebra.poll() is None))

    def stop(net: Network) -> None:
        zebra = net.routers["ar1"].procs["zebra"]
        events.append(("stop", zebra.poll() is None))

    net = Network(load_spec(TINY))
    net.add_service(start, stop)
    with net:
        assert events == [("start", True)]
    assert events == [("start", True), ("stop", True)]


def test_sigterm_during_build_tears_down():
    proc = _builder()
    run = _read_until(proc, "routers started")
    pids = _recorded_pids(run)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert not run.exists()
    assert _all_gone(pids)


def test_clean_after_sigkill():
    proc = _builder()
    run = _read_until(proc, "READY")
    pids = _recorded_pids(run)
    proc.kill()
    proc.wait()
    alive = [p for p in pids if process_start(p) is not None]
    assert alive, "the killed run should leave daemons behind"

    first = _flatmob("clean")
    assert first.returncode == 0, first.stderr
    assert f"*** removed run directory {run}" in first.stdout
    assert not run.exists()
    assert _all_gone(pids)

    second = _flatmob("clean")
    assert second.returncode == 0
    assert str(run) not in second.stdout


def test_clean_spares_processes_with_another_start_time():
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        run = RunDir.create(f"topology-test-{os.getpid()}")
        # Pretend the run died: its owner is a pid that no longer exists.
        (run.path / "owner").write_text('{"pid": 0, "start": 0}\n')
        record = {"pid": sleeper.pid, "start": 1, "label": "not ours"}
        (run.path / "processes").write_text(json.dumps(record) + "\n")
        runstate.clean_all()
        assert not run.path.exists()
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_malformed_spec_starts_nothing():
    before = (
        set(os.listdir(runstate.run_root()))
        if runstate.run_root().exists()
        else set()
    )
    result = _flatmob("check", "--topology", str(BAD_SPEC))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines == [
        f"flatmob: {BAD_SPEC}: field 'routers.cores' must be at least 1"
    ]
    assert "*** run directory" not in result.stdout
    after = (
        set(os.listdir(runstate.run_root()))
        if runstate.run_root().exists()
        else set()
    )
    assert after == before


def test_convergence_timeout_names_router_and_tears_down():
    from flatmob_mn.errors import ConvergenceError

    net = Network(load_spec(TINY), converge_timeout=0.3)
    with pytest.raises(ConvergenceError) as info, net:
        pass
    message = str(info.value)
    assert message.startswith("not converged after 0 s: ")
    name = message.split(": ")[1].split()[0]
    assert name in net.routers
    assert " lacks " in message
    assert net.run is None


def test_failing_service_stop_still_tears_down():
    def stop(net: Network) -> None:
        raise RuntimeError("stop failed")

    net = Network(load_spec(TINY))
    net.add_service(lambda net: None, stop)
    with pytest.raises(TopologyError, match="stop failed"), net:
        zebra = net.routers["ar1"].procs["zebra"]
    assert net.run is None
    assert zebra.poll() is not None


def test_sigterm_ends_lab_and_tears_down():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flatmob_mn.cli",
            "lab",
            "--topology",
            str(TINY),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run = _read_until(proc, "*** converged")
    pids = _recorded_pids(run)
    proc.stdin.write("routers\n")
    proc.stdin.flush()
    for line in proc.stdout:
        if "core1" in line:
            break
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    proc.stdin.close()
    assert proc.returncode == 128 + signal.SIGTERM
    assert not run.exists()
    assert _all_gone(pids)
