"""The ``flatmob`` command line: parsing, topology names, spec errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from flatmob_mn import cli

SPECS = Path(__file__).parent / "specs"


def test_subcommands_parse():
    parser = cli.build_parser()
    args = parser.parse_args(["check", "--topology", "tiny"])
    assert args.func is cli.cmd_check and args.topology == "tiny"
    assert parser.parse_args(["lab"]).func is cli.cmd_lab
    assert parser.parse_args(["clean"]).func is cli.cmd_clean
    args = parser.parse_args(["bench", "topology", "--ars", "16"])
    assert (args.what, args.rest) == ("topology", ["--ars", "16"])
    assert set(cli.BENCHES) >= {"topology", "auth", "naming"}


def test_topology_by_name_or_default():
    assert cli.load_topology("tiny").name == "tiny"
    assert cli.load_topology(None).source == "<built-in>"


def test_malformed_spec_is_one_line_and_exit_1(capsys):
    bad = SPECS / "bad_homing.toml"
    assert cli.main(["check", "--topology", str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(f"flatmob: {bad}: field 'routers.homing'")


def test_unknown_bench_rejected():
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["bench", "nothing"])
