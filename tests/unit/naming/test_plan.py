"""The naming plan and its rendering into knot.conf and zone files."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from pathlib import Path

import dns.name
import dns.zone
import pytest

from flatmob_mn.naming.anchors import (
    dnskey_from_text,
    format_anchors,
    parse_anchors,
)
from flatmob_mn.naming.errors import NamingPlanError, RecordFormatError
from flatmob_mn.naming.plan import Entity, NamingPlan, build_plan
from flatmob_mn.naming.server import (
    KnotFiles,
    format_key_file,
    read_key_file,
    render_conf,
    render_zone,
)

VECTORS = Path(__file__).parents[2] / "vectors/naming"
POOL1 = ipaddress.IPv4Network("10.64.3.0/24")
POOL2 = ipaddress.IPv4Network("10.65.0.0/16")

ENTITIES = [
    Entity("ns1.isp.flatmob.test.", "ns", b"\x01ns"),
    Entity("ar1.isp.flatmob.test.", "ar", b"\x01ar1", POOL1),
    Entity("AR2.isp.flatmob.test", "ar", b"\x01ar2", POOL2),
    Entity("ha1.isp.flatmob.test.", "ha", b"\x01ha"),
    Entity("mn1.mn.flatmob.test.", "mn", b"\x01mn1"),
]


def _plan(**kwargs) -> NamingPlan:
    counter = iter(range(10**6))

    def random(n: int) -> bytes:
        return bytes(next(counter) % 256 for _ in range(n))

    return build_plan(ENTITIES, "10.0.0.53", random=random, **kwargs)


def test_conf_matches_vector() -> None:
    files = KnotFiles(Path("/run/flatmob/r1/ns1/knot"))
    expected = (VECTORS / "knot.conf").read_text()
    assert render_conf(_plan(), files) == expected


def test_zones_and_rules() -> None:
    plan = _plan()
    assert [z.origin for z in plan.zones] == [
        "isp.flatmob.test.",
        "mn.flatmob.test.",
        "3.64.10.in-addr.arpa.",
        "65.10.in-addr.arpa.",
    ]
    mn_rule = plan.zone("mn.flatmob.test.").rules[0]
    assert (mn_rule.key, mn_rule.types, mn_rule.owner, mn_rule.match) == (
        "mn1.mn.flatmob.test.",
        ("A", "AAAA", "TXT"),
        "key",
        "equal",
    )
    nonce = plan.zone("isp.flatmob.test.").rules
    assert [(r.key, r.names) for r in nonce] == [
        ("ar1.isp.flatmob.test.", ("_nonce.ar1.isp.flatmob.test.",)),
        ("ar2.isp.flatmob.test.", ("_nonce.ar2.isp.flatmob.test.",)),
    ]
    ptr = plan.zone("65.10.in-addr.arpa.").rules
    assert [(r.key, r.types, r.owner) for r in ptr] == [
        ("ar2.isp.flatmob.test.", ("PTR",), "zone"),
    ]
    assert plan.zone_of("9.0.65.10.in-addr.arpa.").origin == (
        "65.10.in-addr.arpa."
    )
    assert [k.name for k in plan.keys] == [
        "ar1.isp.flatmob.test.",
        "ar2.isp.flatmob.test.",
        "ha1.isp.flatmob.test.",
        "mn1.mn.flatmob.test.",
    ]
    assert plan.key("mn1.mn.flatmob.test").secret == bytes(range(96, 128))


def test_zone_file_holds_keys_and_ns() -> None:
    plan = _plan()
    text = render_zone(plan.zone("isp.flatmob.test."))
    zone = dns.zone.from_text(text, "isp.flatmob.test.", relativize=False)
    tlsa = zone.get_rdataset("_7410._udp.ar2.isp.flatmob.test.", "TLSA")
    assert [bytes(r.cert) for r in tlsa] == [b"\x01ar2"]
    assert zone.get_rdataset("ns1.isp.flatmob.test.", "A")[0].address == (
        "10.0.0.53"
    )
    assert zone.get_rdataset("@", "SOA")[0].minimum == 5
    assert (
        zone.get_rdataset("_7410._udp.mn1.isp.flatmob.test.", "TLSA") is None
    )
    mn = dns.zone.from_text(
        render_zone(plan.zone("mn.flatmob.test.")),
        "mn.flatmob.test.",
        relativize=False,
    )
    assert mn.get_rdataset("_7410._udp.mn1.mn.flatmob.test.", "TLSA")


def test_zone_names_are_parameters() -> None:
    plan = build_plan(
        [
            Entity("ns1.net.example.", "ns", b"k"),
            Entity("mn1.m.example.", "mn", b"k"),
        ],
        "2001:db8::53",
        isp_zone="net.example",
        mn_zone="m.example.",
    )
    assert [z.origin for z in plan.zones] == ["net.example.", "m.example."]
    text = render_zone(plan.zone("net.example."))
    assert "ns1.net.example. 60 IN AAAA 2001:db8::53" in text


@pytest.mark.parametrize(
    ("entities", "message"),
    [
        (ENTITIES[1:], "exactly one name server"),
        (ENTITIES + [ENTITIES[4]], "duplicate"),
        (
            ENTITIES
            + [
                Entity(
                    "ar3.isp.flatmob.test.",
                    "ar",
                    b"k",
                    ipaddress.IPv4Network("10.65.3.0/24"),
                )
            ],
            "overlap",
        ),
        (
            ENTITIES + [Entity("ar4.isp.flatmob.test.", "ar", b"k")],
            "only ARs, have a pool",
        ),
        (
            ENTITIES + [Entity("mn2.isp.flatmob.test.", "mn", b"k")],
            "lives in mn.flatmob.test.",
        ),
        (
            ENTITIES
            + [
                Entity(
                    "ar5.isp.flatmob.test.",
                    "ar",
                    b"k",
                    ipaddress.IPv4Network("10.66.0.0/20"),
                )
            ],
            "byte-aligned",
        ),
        (
            ENTITIES + [Entity("ha2.isp.flatmob.test.", "ha", b"")],
            "no public key",
        ),
        (
            ENTITIES + [Entity("xx.isp.flatmob.test.", "xx", b"k")],
            "unknown kind",
        ),
    ],
)
def test_bad_plans_refused(entities: list[Entity], message: str) -> None:
    with pytest.raises(NamingPlanError, match=message):
        build_plan(entities, "10.0.0.53")


def test_unknown_algorithm_refused() -> None:
    with pytest.raises(NamingPlanError, match="algorithm"):
        _plan(algorithm="rsasha1")


def test_anchors_round_trip() -> None:
    key = dnskey_from_text(
        "257 3 13 UxPF8RMoiYQPKbMZ+JviJvKbQSRTPP3Ykcn4zKQ/O3JEEFlieg7NZ5lO"
        "6N3eNoMPTB9BZoNN4SQSCxjorytEWQ=="
    )
    text = format_anchors({"mn.flatmob.test.": (key,)})
    assert text == (VECTORS / "anchors.conf").read_text()
    assert parse_anchors(text) == {"mn.flatmob.test.": (key,)}
    with pytest.raises(RecordFormatError):
        parse_anchors("trust-anchors { };")


def test_key_file_round_trip(tmp_path: Path) -> None:
    key = _plan().key("ar1.isp.flatmob.test.")
    path = tmp_path / "ar1.key"
    path.write_text(format_key_file(key))
    assert read_key_file(path) == key
    assert path.read_text() == (
        "hmac-sha256:ar1.isp.flatmob.test.:"
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
    )


def test_names_are_lower_case_and_absolute() -> None:
    plan = _plan()
    assert dns.name.from_text("ar2.isp.flatmob.test.") in [
        dns.name.from_text(e.name) for e in plan.entities
    ]
    assert "ar2.isp.flatmob.test." in [e.name for e in plan.entities]


@pytest.mark.skipif(shutil.which("knotc") is None, reason="needs knotc")
def test_knot_accepts_conf(tmp_path: Path) -> None:
    files = KnotFiles(tmp_path)
    files.conf.write_text(render_conf(_plan(), files))
    done = subprocess.run(
        ["knotc", "-C", str(files.confdb), "conf-import", str(files.conf)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
