"""Rendering, validation and lease-file parsing of the DHCP server."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from flatmob_mn.dhcp.server import (
    DhcpServer,
    DhcpServerConfig,
    dnsmasq_argv,
    parse_leases,
    render_dnsmasq,
)
from flatmob_mn.errors import DhcpError

VECTORS = Path(__file__).parent / "vectors"
RUN = Path("/run/flatmob/r1")


def ar1(**kw: object) -> DhcpServerConfig:
    values: dict = dict(
        ar="ar1",
        interface="acc",
        pool="10.64.3.0/24",
        gateway="10.64.3.1",
        ha_name="ha1.flatmob.test",
        event_socket=RUN / "ar1" / "lease-events.sock",
        run_dir=RUN / "ar1",
    )
    values.update(kw)
    return DhcpServerConfig(**values)


def test_renders_known_config() -> None:
    text = render_dnsmasq(ar1())
    assert text == (VECTORS / "dnsmasq-ar1.conf").read_text()


def test_renders_split_range_around_gateway() -> None:
    cfg = DhcpServerConfig(
        ar="ar2",
        interface="acc",
        pool=IPv4Network("10.64.8.0/22"),
        gateway=IPv4Address("10.64.8.100"),
        ha_name="ha-2.core.flatmob.test.",
        event_socket=RUN / "ar2" / "lease-events.sock",
        run_dir=RUN / "ar2",
        lease_time=600,
        log_dhcp=True,
    )
    text = render_dnsmasq(cfg)
    assert text == (VECTORS / "dnsmasq-ar2-split.conf").read_text()


def test_config_lines() -> None:
    lines = render_dnsmasq(ar1()).splitlines()
    for line in (
        "interface=acc",
        "port=0",
        "no-resolv",
        "no-hosts",
        "no-ping",
        "dhcp-authoritative",
        "dhcp-range=10.64.3.2,10.64.3.254,255.255.255.0,43200",
        "dhcp-option=3,169.254.0.1",
        'dhcp-option=224,"ha1.flatmob.test"',
        "dhcp-leasefile=/run/flatmob/r1/ar1/dnsmasq.leases",
        "pid-file=/run/flatmob/r1/ar1/dnsmasq.pid",
        "log-facility=/run/flatmob/r1/ar1/dnsmasq.log",
        "dhcp-script=/run/flatmob/r1/ar1/dnsmasq-lease-hook",
    ):
        assert line in lines


def test_config_names_no_file_outside_run_dir() -> None:
    for line in render_dnsmasq(ar1()).splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        value = line.split("=", 1)[1]
        if value.startswith("/"):
            assert Path(value).is_relative_to(RUN / "ar1"), line
    assert "conf-file" not in render_dnsmasq(ar1())
    assert "conf-dir" not in render_dnsmasq(ar1())


def test_argv_replaces_system_config() -> None:
    argv = dnsmasq_argv(ar1())
    assert argv == [
        "dnsmasq",
        "--keep-in-foreground",
        "--conf-file=/run/flatmob/r1/ar1/dnsmasq.conf",
    ]


@pytest.mark.parametrize(
    ("pool", "gateway", "ranges"),
    [
        ("10.0.0.0/30", "10.0.0.1", [("10.0.0.2", "10.0.0.2")]),
        ("10.0.0.0/30", "10.0.0.2", [("10.0.0.1", "10.0.0.1")]),
        ("10.0.0.0/29", "10.0.0.6", [("10.0.0.1", "10.0.0.5")]),
        (
            "10.0.0.0/29",
            "10.0.0.3",
            [("10.0.0.1", "10.0.0.2"), ("10.0.0.4", "10.0.0.6")],
        ),
    ],
)
def test_ranges_leave_out_gateway(
    pool: str, gateway: str, ranges: list[tuple[str, str]]
) -> None:
    cfg = ar1(pool=pool, gateway=gateway)
    want = [(IPv4Address(a), IPv4Address(b)) for a, b in ranges]
    assert cfg.ranges() == want
    leased = sum(int(b) - int(a) + 1 for a, b in cfg.ranges())
    assert leased == cfg.lease_max()


@pytest.mark.parametrize("pool", ["10.0.0.0/31", "10.0.0.0/32"])
def test_pool_too_small(pool: str) -> None:
    with pytest.raises(DhcpError, match="too small"):
        ar1(pool=pool, gateway="10.0.0.0")


@pytest.mark.parametrize(
    "gateway", ["10.64.4.1", "10.64.3.0", "10.64.3.255", "169.254.0.1"]
)
def test_gateway_must_be_pool_host(gateway: str) -> None:
    with pytest.raises(DhcpError, match="not a host address of pool"):
        ar1(gateway=gateway)


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "ha1..flatmob.test",
        "-ha.flatmob.test",
        "ha-.flatmob.test",
        "ha_1.flatmob.test",
        'ha".flatmob.test',
        "ha1.flatmob.test\ndhcp-option=6,10.0.0.1",
        "a" * 64 + ".test",
        ".".join(["a" * 63] * 4),
    ],
)
def test_ha_name_must_be_dns_name(name: str) -> None:
    with pytest.raises(DhcpError, match="HA name"):
        ar1(ha_name=name)


@pytest.mark.parametrize("interface", ["", "a" * 16, "ac c", "acc\nport=53"])
def test_interface_must_be_valid(interface: str) -> None:
    with pytest.raises(DhcpError, match="interface name"):
        ar1(interface=interface)


def test_bad_addresses_and_lease_time() -> None:
    with pytest.raises(DhcpError, match="ar1"):
        ar1(pool="10.64.3.1/24")
    with pytest.raises(DhcpError, match="ar1"):
        ar1(gateway="10.64.3.300")
    with pytest.raises(DhcpError, match="minimum"):
        ar1(lease_time=60)
    with pytest.raises(DhcpError, match="longer than"):
        ar1(event_socket="/run/" + "x" * 120)


def test_parse_leases() -> None:
    records = parse_leases((VECTORS / "dnsmasq.leases").read_text())
    assert [(r.ip, r.mac, r.hostname, r.client_id) for r in records] == [
        (
            IPv4Address("10.64.3.89"),
            "12:b5:8c:a7:e4:83",
            "mn1",
            "01:12:b5:8c:a7:e4:83",
        ),
        (IPv4Address("10.64.3.90"), "02:aa:00:00:00:02", None, None),
    ]
    assert records[0].expires == 1796444621


def test_parse_leases_rejects_garbage() -> None:
    with pytest.raises(DhcpError, match="malformed"):
        parse_leases("1796444621 12:b5:8c:a7:e4:83 10.64.3.89\n")
    with pytest.raises(DhcpError, match="malformed"):
        parse_leases("soon 12:b5:8c:a7:e4:83 10.64.3.89 mn1 *\n")


def test_server_without_lease_file_has_no_leases(tmp_path: Path) -> None:
    server = DhcpServer(ar1(run_dir=tmp_path))
    assert server.leases() == []
    assert server.pid is None and not server.running()
