"""Plots of a results folder: files, figure contents, the command."""

import json
import shutil
import struct
from pathlib import Path

import pytest

from flatmob_mn.errors import ResultsError
from flatmob_mn.plot import PLOT_FILES, main, plot_all
from flatmob_mn.plot.figures import cdf_figure, scope_figure, timeline_figure
from flatmob_mn.plot.results import (
    fib_events,
    load_results,
    move_window,
    pick_move,
)

VECTOR = Path(__file__).resolve().parents[2] / "vectors" / "results"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """Return width and height from a PNG's IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture
def folder(tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(VECTOR, copy)
    return copy


@pytest.fixture(scope="module")
def results():
    return load_results(VECTOR)


def test_plot_all_writes_four_pngs(folder):
    paths = plot_all(folder)
    assert [p.name for p in paths] == list(PLOT_FILES)
    for path in paths:
        assert path.parent == folder
        width, height = png_size(path)
        assert width > 300 and height > 300
        assert path.stat().st_size > 5000


def test_plot_all_without_moves_says_no_data(tmp_path):
    (tmp_path / "manifest.json").write_text('{"run_id": "empty"}')
    paths = plot_all(tmp_path)
    assert [p.name for p in paths] == list(PLOT_FILES)
    for path in paths:
        png_size(path)


def test_median_move_is_chosen(results):
    # Converged: 50, 80, 100, 200, 300, 400, 600 ms; the median is move 5.
    assert pick_move(results.moves)["index"] == 5
    assert pick_move(results.moves, 3)["index"] == 3


def test_pick_move_edge_cases(results):
    assert pick_move([]) is None
    never = [{"index": 4, "convergence_ms": None}]
    assert pick_move(never)["index"] == 4
    with pytest.raises(ResultsError, match="no move with index 99"):
        pick_move(results.moves, 99)


def test_window_ends_at_the_next_move(results):
    moves = results.moves
    assert move_window(moves[2], moves) == (
        moves[2]["t_move"],
        moves[3]["t_move"],
    )
    assert move_window(moves[7], moves) == (moves[7]["t_move"], None)


def test_fib_events_of_one_move(results):
    move = results.moves[2]
    changes = fib_events(
        results.events(), move["addresses"], move_window(move, results.moves)
    )
    seen = sorted((c["router"], c["event"]) for c in changes)
    assert seen == [("agg2", "add"), ("ar3", "del"), ("ar4", "add")]


def test_timeline_rows_sorted_by_time(results):
    move = results.moves[2]
    changes = fib_events(
        results.events(), move["addresses"], move_window(move, results.moves)
    )
    ax = timeline_figure(move, changes, "test").axes[0]
    rows = [label.get_text() for label in ax.get_yticklabels()]
    # ar4 then agg2 by their last FIB change; ar3 only deleted a route.
    assert rows == ["ar4", "agg2", "ar3"]
    marks = {line.get_label(): line.get_xdata()[0] for line in ax.lines}
    assert marks["auth_sent"] == pytest.approx(10.0)
    assert marks["route_handed"] == pytest.approx(22.0)
    assert marks["converged"] == pytest.approx(300.0)


def test_timeline_leaves_out_missing_events(results):
    move = results.moves[3]
    ax = timeline_figure(move, [], "test").axes[0]
    labels = {line.get_label() for line in ax.lines}
    assert "auth_verified" not in labels
    assert {"auth_sent", "route_handed", "attached"} <= labels
    assert any("not recorded: auth_verified" in t.get_text() for t in ax.texts)


def test_cdf_lines_follow_the_values(results):
    ax = cdf_figure(results.moves, "convergence_ms", "t", "ms").axes[0]
    lines = {line.get_label(): line for line in ax.lines}
    intra = lines["intra-cluster (n=3)"]
    assert list(intra.get_xdata()) == [100.0, 100.0, 200.0, 300.0]
    assert list(intra.get_ydata()) == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert "inter-cluster (n=2, 1 without value)" in lines


def test_cdf_with_no_values_says_no_data():
    moves = [{"type": "owning-ar", "interruption_ms": None}]
    ax = cdf_figure(moves, "interruption_ms", "t", "ms").axes[0]
    assert any(t.get_text().startswith("no data") for t in ax.texts)


def test_scope_bars(results):
    ax = scope_figure(results.moves, "t").axes[0]
    heights = [patch.get_height() for patch in ax.patches]
    # Inside bars for the four types, then outside bars.
    assert heights == pytest.approx(
        [7 / 3, 7 / 3, 2.0, 1.0, 0.0, 5 / 3, 1.0, 1.0]
    )


def test_main_writes_plots_and_prints_the_table(folder, capsys):
    assert main([str(folder), "--move", "3", "--write-summary"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("move type")
    assert "intra-cluster" in out and "tcp: survived" in out
    assert all((folder / name).exists() for name in PLOT_FILES)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["failed_moves"] == 2


def test_main_on_a_folder_that_is_not_results(tmp_path, capsys):
    assert main([str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "not a results folder" in err
    assert list(tmp_path.iterdir()) == []


def test_main_on_a_missing_folder(tmp_path, capsys):
    assert main([str(tmp_path / "nope")]) == 1
    assert "is not a directory" in capsys.readouterr().err


def test_main_with_an_unknown_move(folder, capsys):
    assert main([str(folder), "--move", "99"]) == 1
    assert "no move with index 99" in capsys.readouterr().err


def test_main_on_a_malformed_manifest(tmp_path, capsys):
    (tmp_path / "manifest.json").write_text("[1]")
    assert main([str(tmp_path)]) == 1
    assert "not a JSON object" in capsys.readouterr().err


def test_timeline_of_a_move_without_t_move():
    move = {"index": 0, "type": "intra-cluster", "t_move": None}
    ax = timeline_figure(move, [], "test").axes[0]
    assert any("no recorded t_move" in t.get_text() for t in ax.texts)
