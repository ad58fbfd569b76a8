import pytest

from flatmob_mn.experiments.schedule import (
    MOVE_TYPES,
    make_schedule,
    move_type,
)

CLUSTER = {"ar1": "agg1", "ar2": "agg1", "ar3": "agg2", "ar4": "agg2"}
ARS = sorted(CLUSTER)


@pytest.mark.parametrize(
    "old, new, kind",
    [
        ("ar2", "ar1", "owning-ar"),
        ("ar3", "ar1", "owning-ar"),
        ("ar3", "ar2", "home-cluster"),
        ("ar1", "ar2", "intra-cluster"),
        ("ar3", "ar4", "intra-cluster"),
        ("ar1", "ar3", "inter-cluster"),
        ("ar4", "ar2", "home-cluster"),
    ],
)
def test_move_types(old, new, kind):
    assert move_type(old, new, "ar1", CLUSTER) == kind


def schedule(seed, moves=40):
    return make_schedule(
        moves,
        seed,
        {"mn1": "ar1", "mn2": "ar2"},
        {"mn1": "ar1", "mn2": "ar2"},
        ARS,
        CLUSTER,
    )


def test_every_type_appears_and_each_move_goes_somewhere_new():
    plan = schedule(1)
    assert {m.type for m in plan} == set(MOVE_TYPES)
    here = {"mn1": "ar1", "mn2": "ar2"}
    owner = dict(here)
    for m in plan:
        assert m.new_ar != here[m.mn]
        assert move_type(here[m.mn], m.new_ar, owner[m.mn], CLUSTER) == m.type
        here[m.mn] = m.new_ar


def test_the_seed_fixes_the_schedule():
    assert schedule(5) == schedule(5)
    assert schedule(5) != schedule(6)


def test_one_ar_allows_no_move():
    with pytest.raises(ValueError, match="one AR"):
        make_schedule(
            1, 0, {"mn1": "ar1"}, {"mn1": "ar1"}, ["ar1"], {"ar1": "agg1"}
        )
