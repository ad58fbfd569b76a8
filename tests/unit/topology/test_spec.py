"""Topology specs: the shipped files, the default, and malformed specs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from flatmob_mn.errors import AddressPlanError, SpecError
from flatmob_mn.topology.spec import default_spec, load_spec

SPECS = Path(__file__).parent / "specs"
TOPOLOGIES = Path(__file__).parents[3] / "topologies"


def test_default_file_equals_built_in_default():
    spec = load_spec(TOPOLOGIES / "default.toml")
    assert dataclasses.replace(spec, source="<built-in>") == default_spec()


def test_default_shape():
    spec = default_spec()
    assert (spec.cores, spec.aggs, spec.ar_count) == (2, 4, 16)
    assert spec.homing == "dual"
    assert spec.mobile_nodes == 4
    assert spec.ar_peer_count > 0


def test_tiny_shape():
    spec = load_spec(TOPOLOGIES / "tiny.toml")
    assert (spec.cores, spec.aggs, spec.ars_per_agg) == (1, 2, 2)
    assert spec.mobile_nodes == 2


def test_classic_loads():
    spec = load_spec(TOPOLOGIES / "classic.toml")
    assert spec.cores >= 2 and spec.homing == "dual"
    assert ("ar1", "ar16") in spec.ar_peer_links
    assert spec.bandwidth_mbit == 100.0


# file -> field the one-line message must name
BAD = {
    "unknown_top.toml": "'colour'",
    "unknown_router_key.toml": "'routers.spines'",
    "cores_not_int.toml": "'routers.cores'",
    "cores_bool.toml": "'routers.cores'",
    "cores_zero.toml": "'routers.cores'",
    "bad_homing.toml": "'routers.homing'",
    "unknown_peer.toml": "'links.ar_peers'",
    "peer_not_pair.toml": "'links.ar_peers'",
    "block_not_string.toml": "'addressing.mn_block'",
    "unknown_addressing_key.toml": "'addressing.prefix'",
    "routers_not_table.toml": "'routers'",
    "negative_delay.toml": "'links.delay_ms'",
    "not_toml.toml": "not valid TOML",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_malformed_spec_names_file_and_field(name):
    with pytest.raises(SpecError) as info:
        load_spec(SPECS / name)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(SPECS / name) + ":")
    assert BAD[name] in message


def test_missing_file():
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(SPECS / "absent.toml")


BAD_PLANS = {
    "pool_not_byte_aligned.toml": "pool prefix /20 must be a multiple of 8",
    "pools_do_not_fit.toml": "need 320 pools but MN block 10.64.0.0/16",
    "services_overlap.toml": "overlaps services block 10.64.9.0/24",
}


@pytest.mark.parametrize("name", sorted(BAD_PLANS))
def test_impossible_addressing_names_file(name):
    with pytest.raises(AddressPlanError) as info:
        load_spec(SPECS / name)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{SPECS / name}: addressing: ")
    assert BAD_PLANS[name] in message


@pytest.mark.parametrize(
    "text, field",
    [
        ("[routers]\nasn = 99999999999\n", "routers.asn"),
        ("[routers]\nborder_asn = 0\n", "routers.border_asn"),
        ("mobile_nodes = 100000\n", "mobile_nodes"),
        ("[links]\nar_peer_count = 1000\n", "links.ar_peer_count"),
        (
            "mobile_nodes = 300\n[routers]\naggs = 1\nars_per_agg = 1\n",
            "mobile_nodes",
        ),
    ],
)
def test_values_out_of_range_name_their_field(tmp_path, text, field):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SpecError, match=field.replace(".", r"\.")):
        load_spec(path)
