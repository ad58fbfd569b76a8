"""Lease parsing, option 224 decoding and the udhcpc command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from flatmob_mn.dhcp import client_hook
from flatmob_mn.dhcp.client import (
    ClientFiles,
    acquire_lease,
    parse_lease,
    udhcpc_argv,
)
from flatmob_mn.errors import DhcpError

VECTORS = Path(__file__).parent / "vectors"


def bound_env() -> dict[str, str]:
    lines = (VECTORS / "udhcpc-bound.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line)


@pytest.mark.parametrize(
    ("hex_value", "text"),
    [
        ("6861312e6578616d706c652e6e6574", "ha1.example.net"),
        ("6861312e6578616d706c652e6e657400", "ha1.example.net"),
        ("", None),
        (None, None),
        ("00", None),
        ("zz", None),
        ("6861a9", None),
    ],
)
def test_decode_option_string(hex_value: str | None, text: str | None) -> None:
    assert client_hook.decode_option_string(hex_value) == text


def test_lease_from_udhcpc_env() -> None:
    lease = client_hook.lease_from(bound_env())
    assert lease == {
        "interface": "fd2-eth0",
        "ip": "10.64.3.89",
        "prefix_len": 24,
        "router": "169.254.0.1",
        "server_id": "10.64.3.1",
        "lease_time": 43200,
        "ha_name": "ha1.example.net",
        "opt224": "6861312e6578616d706c652e6e6574",
    }


def test_lease_from_takes_first_router_and_no_ha() -> None:
    env = bound_env()
    env["router"] = "10.64.3.1 10.64.3.2"
    del env["opt224"]
    lease = client_hook.lease_from(env)
    assert lease["router"] == "10.64.3.1"
    assert lease["ha_name"] is None


def _written(env: dict[str, str]) -> str:
    lease = client_hook.lease_from(env)
    lease["obtained_at"] = 1796401611.5
    return json.dumps(lease)


def test_parse_lease() -> None:
    lease = parse_lease(_written(bound_env()))
    assert lease.ip == IPv4Address("10.64.3.89")
    assert lease.prefix_len == 24
    assert lease.router == IPv4Address("169.254.0.1")
    assert lease.server_id == IPv4Address("10.64.3.1")
    assert lease.lease_time == 43200
    assert lease.ha_name == "ha1.example.net"
    assert lease.interface == "fd2-eth0"
    assert lease.obtained_at == 1796401611.5


def test_parse_lease_drops_ha_name_that_is_no_dns_name() -> None:
    env = bound_env()
    env["opt224"] = b"ha 1; rm".hex()
    assert parse_lease(_written(env)).ha_name is None


def test_parse_lease_reports_failed_configuration() -> None:
    obj = json.loads(_written(bound_env()))
    obj["error"] = "ip addr replace failed"
    with pytest.raises(DhcpError, match="not configured: ip addr"):
        parse_lease(json.dumps(obj))


@pytest.mark.parametrize("text", ["", "{", '{"ip": "10.64.3.89"}', "[]"])
def test_parse_lease_rejects_garbage(text: str) -> None:
    with pytest.raises(DhcpError, match="malformed"):
        parse_lease(text)


def test_udhcpc_argv_uses_own_script() -> None:
    files = ClientFiles.inside(Path("/run/flatmob/r1/mn1"), "mn1-eth0")
    argv = udhcpc_argv("mn1-eth0", "mn1.flatmob.test", files, timeout=2.5)
    assert argv == [
        "busybox", "udhcpc", "-f", "-q", "-n",
        "-i", "mn1-eth0",
        "-s", "/run/flatmob/r1/mn1/udhcpc-hook-mn1-eth0",
        "-p", "/run/flatmob/r1/mn1/udhcpc-mn1-eth0.pid",
        "-t", "3", "-T", "1",
        "-x", "hostname:mn1.flatmob.test",
        "-O", "224",
    ]  # fmt: skip


def test_acquire_lease_checks_names_first(tmp_path: Path) -> None:
    with pytest.raises(DhcpError, match="MN host name"):
        acquire_lease(None, "mn1-eth0", "mn 1", tmp_path)
    with pytest.raises(DhcpError, match="interface name"):
        acquire_lease(None, "mn1-eth0-too-long", "mn1.test", tmp_path)
    with pytest.raises(DhcpError, match="not inside a run directory"):
        acquire_lease(None, "mn1-eth0", "mn1.test", tmp_path)
    assert list(tmp_path.iterdir()) == []


def _fake_ip(folder: Path) -> Path:
    # Stands in for ip(8) so that no event can touch this machine's
    # interfaces: it only records how it was called.
    calls = folder / "ip-calls"
    fake = folder / "bin" / "ip"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    fake.chmod(0o755)
    return calls


def _run_hook(tmp_path: Path, event: str, env: dict[str, str]) -> None:
    env = {**env, "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin"}
    lease_file = tmp_path / "lease.json"
    script = client_hook.__file__
    subprocess.run(
        [sys.executable, "-I", "-S", script, str(lease_file), event],
        env=env,
        check=True,
    )


@pytest.mark.parametrize("event", ["deconfig", "leasefail", "nak"])
def test_hook_keeps_addresses_on_deconfig(tmp_path: Path, event: str) -> None:
    calls = _fake_ip(tmp_path)
    _run_hook(tmp_path, event, {"interface": "fd2-eth0"})
    assert not calls.exists()
    assert not (tmp_path / "lease.json").exists()
    log = (tmp_path / "lease.json.events").read_text()
    assert log.split()[1:] == [event, "fd2-eth0"]


def test_hook_configures_slash_32_on_bound(tmp_path: Path) -> None:
    calls = _fake_ip(tmp_path)
    _run_hook(tmp_path, "bound", bound_env())
    assert calls.read_text().splitlines() == [
        "addr replace 10.64.3.89/32 dev fd2-eth0",
        "route replace default via 169.254.0.1 dev fd2-eth0 onlink",
    ]
    lease = parse_lease((tmp_path / "lease.json").read_text())
    assert lease.ip == IPv4Address("10.64.3.89")
    assert lease.ha_name == "ha1.example.net"
    assert sorted(os.listdir(tmp_path)) == [
        "bin",
        "ip-calls",
        "lease.json",
        "lease.json.events",
    ]
