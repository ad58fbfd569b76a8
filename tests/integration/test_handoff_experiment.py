"""Smoke test of the handoff experiment on the tiny topology."""

from __future__ import annotations

import json

import pytest

from flatmob_mn.cli import main

pytestmark = pytest.mark.root

FILES = (
    "manifest.json",
    "moves.jsonl",
    "events.jsonl",
    "tcp.json",
    "summary.json",
    "cdf_convergence.png",
    "cdf_interruption.png",
    "timeline.png",
    "scope.png",
)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("handoff") / "run"
    status = main(
        [
            "run",
            "handoff",
            "--topology",
            "tiny",
            "--moves",
            "8",
            "--seed",
            "3",
            "--out",
            str(out),
        ]
    )
    return status, out


def test_every_file_is_written(results):
    status, out = results
    assert status == 0
    for name in FILES:
        assert (out / name).stat().st_size > 0, name
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_move_converged_with_real_figures(results):
    _, out = results
    moves = [
        json.loads(line)
        for line in (out / "moves.jsonl").read_text().splitlines()
    ]
    assert len(moves) == 8
    assert {m["type"] for m in moves} == {
        "intra-cluster",
        "inter-cluster",
        "home-cluster",
        "owning-ar",
    }
    for move in moves:
        assert move["invariant_ok"], move["problems"]
        assert move["convergence_ms"] > 0
        assert move["timeline"]["route_handed"] > move["t_move"]
        assert move["fib"], "no FIB change recorded"
        assert move["interruption_ms"] is not None
        assert move["scope"]["inside"] >= 1


def test_summary_and_manifest(results):
    _, out = results
    summary = json.loads((out / "summary.json").read_text())
    assert summary["moves"] == 8 and summary["failed_moves"] == 0
    for group in summary["by_type"].values():
        assert group["count"] >= 1
        assert group["convergence_ms"]["p50"] > 0
    assert summary["tcp"]["survived"] is True
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["topology"]["name"] == "tiny"
    assert "frr" in manifest["versions"] and "kernel" in manifest["versions"]


def test_plots_redraw_from_the_data_alone(results, tmp_path):
    _, out = results
    for png in out.glob("*.png"):
        png.unlink()
    assert main(["plot", str(out)]) == 0
    assert len(list(out.glob("*.png"))) == 4
