from flatmob_mn.experiments.analysis import Performed, interruption

MS = 1_000_000


def move(t_move, t_end):
    return Performed(
        0,
        "mn1",
        "intra-cluster",
        "ar1",
        "ar2",
        "agg1",
        ("10.64.0.5",),
        t_move,
        t_end,
        t_end,
        (),
    )


def test_gap_is_the_longest_silence_during_the_move():
    # One probe a millisecond; probes 10..39 are lost while detached.
    arrivals = [(s, s * MS) for s in range(0, 10)]
    arrivals += [(s, s * MS + 500) for s in range(40, 60)]
    gap, lost = interruption(move(5 * MS, 100 * MS), arrivals)
    assert gap == (40 * MS + 500 - 9 * MS) / 1e6
    assert lost == 30


def test_no_probe_after_the_move_gives_no_figure():
    arrivals = [(s, s * MS) for s in range(0, 10)]
    assert interruption(move(20 * MS, 30 * MS), arrivals) == (None, None)
