"""Lease events from dnsmasq's script to the AR agent's socket."""

from __future__ import annotations

import json
import socket
import time
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from flatmob_mn.dhcp import lease_hook
from flatmob_mn.dhcp.events import LeaseEvent, LeaseEvents
from flatmob_mn.errors import DhcpError

ENV = {
    "DNSMASQ_CLIENT_ID": "01:12:b5:8c:a7:e4:83",
    "DNSMASQ_INTERFACE": "acc",
    "DNSMASQ_LEASE_EXPIRES": "1796444621",
    "DNSMASQ_SUPPLIED_HOSTNAME": "mn1.flatmob.test",
}
ARGS = ["ar1", "add", "12:B5:8C:A7:E4:83", "10.64.3.89", "mn1"]


def add_event() -> dict:
    event = lease_hook.event_from(ARGS, ENV)
    assert event is not None
    return event


def test_event_from_dnsmasq_call() -> None:
    assert lease_hook.event_from(ARGS, ENV) == {
        "ar": "ar1",
        "action": "add",
        "mac": "12:b5:8c:a7:e4:83",
        "ip": "10.64.3.89",
        "hostname": "mn1.flatmob.test",
        "client_id": "01:12:b5:8c:a7:e4:83",
        "interface": "acc",
        "expires": 1796444621,
    }


def test_event_without_supplied_name_uses_lease_name() -> None:
    event = lease_hook.event_from(["ar1", "del", *ARGS[2:]], {})
    assert event is not None
    assert (event["action"], event["hostname"]) == ("del", "mn1")
    assert event["client_id"] is None and event["expires"] is None
    event = lease_hook.event_from(["ar1", "old", *ARGS[2:4]], {})
    assert event is not None and event["hostname"] is None


@pytest.mark.parametrize(
    "args", [["ar1", "init"], ["ar1", "tftp", "12", "10.0.0.1", "f"]]
)
def test_other_calls_are_ignored(args: list[str]) -> None:
    assert lease_hook.event_from(args, {}) is None


def test_listener_receives_hook_event(tmp_path: Path) -> None:
    path = tmp_path / "events.sock"
    with LeaseEvents(path) as events:
        lease_hook.send(str(path), add_event())
        event = events.recv(timeout=1.0)
    assert event == LeaseEvent(
        ar="ar1",
        action="add",
        mac="12:b5:8c:a7:e4:83",
        ip=IPv4Address("10.64.3.89"),
        hostname="mn1.flatmob.test",
        client_id="01:12:b5:8c:a7:e4:83",
        interface="acc",
        expires=1796444621,
    )
    assert not path.exists()


def test_listener_skips_malformed_datagrams(tmp_path: Path) -> None:
    path = tmp_path / "events.sock"
    good = add_event()
    with LeaseEvents(path) as events:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            for data in (
                b"not json",
                b"[]",
                json.dumps({**good, "action": "arp"}).encode(),
                json.dumps({**good, "ip": "10.64.3"}).encode(),
                json.dumps(good).encode(),
            ):
                sock.sendto(data, str(path))
        assert next(iter(events)).ip == IPv4Address("10.64.3.89")


def test_listener_times_out(tmp_path: Path) -> None:
    with LeaseEvents(tmp_path / "events.sock") as events:
        start = time.monotonic()
        with pytest.raises(DhcpError, match="no lease event"):
            events.recv(timeout=0.2)
        assert 0.2 <= time.monotonic() - start < 1.0


def test_hook_drops_event_when_nobody_listens(tmp_path: Path) -> None:
    path = tmp_path / "events.sock"
    lease_hook.send(str(path), {"action": "add"})
    LeaseEvents(path).close()  # leaves a stale socket behind
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
    lease_hook.send(str(path), {"action": "add"})
    assert lease_hook.main(["hook", str(path), *ARGS]) == 0
    assert lease_hook.main(["hook"]) == 0


def test_listener_replaces_stale_socket(tmp_path: Path) -> None:
    path = tmp_path / "events.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
    with LeaseEvents(path) as events:
        lease_hook.send(str(path), add_event())
        assert events.recv(timeout=1.0).action == "add"


def test_listener_refuses_to_replace_a_file(tmp_path: Path) -> None:
    path = tmp_path / "events.sock"
    path.write_text("keep me")
    with pytest.raises(DhcpError, match="not a socket"):
        LeaseEvents(path)
    assert path.read_text() == "keep me"
