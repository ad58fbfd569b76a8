"""Summary of handoff moves: nearest-rank percentiles, nulls, failures."""

import json
import shutil
from pathlib import Path

import pytest

from flatmob_mn.errors import ResultsError
from flatmob_mn.measure.summary import (
    format_table,
    load_summary,
    move_failed,
    percentile,
    read_jsonl,
    read_tcp,
    summarize,
    write_summary,
)

VECTOR = Path(__file__).resolve().parents[2] / "vectors" / "results"


@pytest.fixture(scope="module")
def moves():
    return read_jsonl(VECTOR / "moves.jsonl")


@pytest.fixture(scope="module")
def summary(moves):
    return summarize(moves, read_tcp(VECTOR / "tcp.json"))


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([5.0], 50, 5.0),
        ([5.0], 99, 5.0),
        ([4.0, 1.0, 3.0, 2.0], 50, 2.0),
        ([4.0, 1.0, 3.0, 2.0], 75, 3.0),
        ([4.0, 1.0, 3.0, 2.0], 76, 4.0),
        ([4.0, 1.0, 3.0, 2.0], 100, 4.0),
        ([float(i) for i in range(1, 101)], 99, 99.0),
        ([float(i) for i in range(1, 101)], 50, 50.0),
        ([float(i) for i in range(1, 101)], 29, 29.0),
        ([float(i) for i in range(1, 201)], 99, 198.0),
        ([7.0, 7.0, 1.0], 50, 7.0),
        ([10.0, 20.0], 1, 10.0),
    ],
)
def test_nearest_rank_percentile(values, p, expected):
    assert percentile(values, p) == expected


def test_percentile_of_nothing_is_none():
    assert percentile([], 50) is None


@pytest.mark.parametrize("p", [0, -1, 100.5])
def test_percentile_out_of_range(p):
    with pytest.raises(ValueError):
        percentile([1.0], p)


def test_counts_and_failed_moves(summary):
    # Move 3 broke the invariant; move 4 never converged (and broke it).
    assert summary["moves"] == 8
    assert summary["failed_moves"] == 2
    assert summary["all"]["invariant_failures"] == 2
    assert summary["percentile_method"] == "nearest-rank"
    assert list(summary["by_type"]) == [
        "intra-cluster",
        "inter-cluster",
        "home-cluster",
        "owning-ar",
    ]
    counts = {t: g["count"] for t, g in summary["by_type"].items()}
    assert counts == {
        "intra-cluster": 3,
        "inter-cluster": 3,
        "home-cluster": 1,
        "owning-ar": 1,
    }
    failed = {t: g["failed"] for t, g in summary["by_type"].items()}
    assert failed == {
        "intra-cluster": 0,
        "inter-cluster": 1,
        "home-cluster": 1,
        "owning-ar": 0,
    }


def test_convergence_over_all_moves_skips_the_null(summary):
    # 50, 80, 100, 200, 300, 400, 600 (move 4 is null): rank 4 and 7.
    assert summary["all"]["convergence_ms"] == {
        "n": 7,
        "p50": 200.0,
        "p99": 600.0,
        "max": 600.0,
    }


def test_interruption_over_all_moves_skips_nulls(summary):
    # 60, 90, 120, 340, 450, 700: rank 3 and 6.
    assert summary["all"]["interruption_ms"] == {
        "n": 6,
        "p50": 120.0,
        "p99": 700.0,
        "max": 700.0,
    }


def test_statistics_per_type(summary):
    intra = summary["by_type"]["intra-cluster"]
    assert intra["convergence_ms"] == {
        "n": 3,
        "p50": 200.0,
        "p99": 300.0,
        "max": 300.0,
    }
    assert intra["interruption_ms"] == {
        "n": 2,
        "p50": 120.0,
        "p99": 340.0,
        "max": 340.0,
    }
    assert intra["probes_lost"] == 4
    assert intra["scope_inside_mean"] == pytest.approx(7 / 3)
    assert intra["scope_outside_mean"] == 0.0

    inter = summary["by_type"]["inter-cluster"]
    assert inter["convergence_ms"] == {
        "n": 2,
        "p50": 400.0,
        "p99": 600.0,
        "max": 600.0,
    }
    assert inter["routing_ms"]["n"] == 2
    assert inter["probes_lost"] == 61
    assert inter["invariant_failures"] == 1
    assert inter["scope_outside_mean"] == pytest.approx(5 / 3)


def test_agent_times_skip_the_missing_verification(summary):
    # Move 3 has no auth_verified, so no agent time: 7 values remain.
    assert summary["all"]["agent_ms"] == {"n": 7, "p50": 2.5, "p99": 4.0}
    assert summary["by_type"]["home-cluster"]["agent_ms"] == {
        "n": 0,
        "p50": None,
        "p99": None,
    }


def test_probes_lost_total_and_tcp(summary):
    assert summary["all"]["probes_lost"] == 66
    assert summary["tcp"] == {
        "survived": True,
        "received": 48213,
        "max_gap_ms": 712.5,
        "error": None,
    }


def test_no_values_means_null_not_zero():
    moves = [
        {
            "type": "owning-ar",
            "convergence_ms": None,
            "interruption_ms": None,
            "probes_lost": None,
        },
    ]
    group = summarize(moves, None)["by_type"]["owning-ar"]
    assert group["convergence_ms"] == {
        "n": 0,
        "p50": None,
        "p99": None,
        "max": None,
    }
    assert group["probes_lost"] is None
    assert group["scope_inside_mean"] is None
    assert group["failed"] == 1


def test_empty_run():
    summary = summarize([], None)
    assert summary["moves"] == 0
    assert summary["failed_moves"] == 0
    assert summary["by_type"] == {}
    assert summary["all"]["convergence_ms"]["p50"] is None
    assert summary["tcp"] is None


def test_unchecked_invariant_is_not_a_failure():
    move = {"convergence_ms": 10.0, "invariant_ok": None, "problems": []}
    assert not move_failed(move)
    assert move_failed({**move, "problems": ["x"]})
    assert move_failed({**move, "invariant_ok": False})
    assert move_failed({**move, "convergence_ms": None})


def test_unknown_types_follow_the_known_ones():
    moves = [
        {"type": "zz-other", "convergence_ms": 1.0},
        {"convergence_ms": 2.0},
        {"type": "owning-ar", "convergence_ms": 3.0},
    ]
    by_type = summarize(moves, None)["by_type"]
    assert list(by_type) == ["owning-ar", "unknown", "zz-other"]


def test_table_rows(summary):
    lines = format_table(summary).splitlines()
    assert lines[0].split() == [
        "move",
        "type",
        "count",
        "failed",
        "conv",
        "p50",
        "conv",
        "p99",
        "intr",
        "p50",
        "intr",
        "p99",
        "lost",
        "inv",
        "fail",
    ]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:-1]}
    assert rows["intra-cluster"] == [
        "3",
        "0",
        "200.0",
        "300.0",
        "120.0",
        "340.0",
        "4",
        "0",
    ]
    assert rows["inter-cluster"] == [
        "3",
        "1",
        "400.0",
        "600.0",
        "450.0",
        "700.0",
        "61",
        "1",
    ]
    assert rows["all"] == [
        "8",
        "2",
        "200.0",
        "600.0",
        "120.0",
        "700.0",
        "66",
        "2",
    ]
    assert lines[-1] == "tcp: survived, 48213 received, max gap 712.5 ms"
    assert all(len(line) <= 79 for line in lines)


def test_table_marks_missing_values():
    moves = [{"type": "owning-ar", "convergence_ms": None}]
    table = format_table(summarize(moves, None))
    row = next(x for x in table.splitlines() if x.startswith("owning-ar"))
    assert row.split() == ["owning-ar", "1", "1", "-", "-", "-", "-", "-", "0"]
    assert table.splitlines()[-1] == "tcp: not recorded"


def test_table_of_broken_tcp():
    tcp = {
        "survived": False,
        "received": 10,
        "max_gap_ms": None,
        "error": "connection reset",
    }
    line = format_table(summarize([], tcp)).splitlines()[-1]
    assert line == ("tcp: broke (connection reset), 10 received, max gap - ms")


def test_write_summary(tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(VECTOR, folder)
    written = write_summary(folder)
    on_disk = json.loads((folder / "summary.json").read_text())
    assert on_disk == written
    assert on_disk["all"]["convergence_ms"]["p50"] == 200.0


def test_folder_without_moves_or_tcp(tmp_path):
    summary = load_summary(tmp_path)
    assert summary["moves"] == 0
    assert summary["tcp"] is None


def test_malformed_line_is_reported_with_its_number(tmp_path):
    path = tmp_path / "moves.jsonl"
    path.write_text('{"index": 0}\n\n{"index": 1\n')
    with pytest.raises(ResultsError, match=r"moves.jsonl:3"):
        read_jsonl(path)


def test_line_that_is_not_an_object(tmp_path):
    path = tmp_path / "moves.jsonl"
    path.write_text("[1, 2]\n")
    with pytest.raises(ResultsError, match="not a JSON object"):
        read_jsonl(path)
