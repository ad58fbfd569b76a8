from flatmob_mn.measure.fibcheck import RouterFib, check

# A line of routers: core - agg - ar1, ar2 (both under agg).
ADDR = "10.64.1.10"


def fibs(ar1_hop, ar2_hop, access_at="ar2", bgp_at=("agg", "ar1")):
    table = {
        "core": RouterFib("core", {ADDR: ("e0", "10.0.0.2")}),
        "agg": RouterFib("agg", {ADDR: ar2_hop}),
        "ar1": RouterFib("ar1", {ADDR: ar1_hop}),
        "ar2": RouterFib("ar2", {ADDR: ("acc", None)}),
    }
    table["core"].addresses = {"10.0.0.1"}
    table["agg"].addresses = {"10.0.0.2", "10.0.1.2", "10.0.2.2"}
    table["ar1"].addresses = {"10.0.1.1"}
    table["ar2"].addresses = {"10.0.2.1"}
    if access_at:
        table[access_at].access_routes.add(ADDR)
    for r in bgp_at:
        table[r].bgp_host_routes.add(ADDR)
    return table


SCOPE = {ADDR: {"agg", "ar1", "ar2"}}


def test_converged_network_has_no_problem():
    t = fibs(("e0", "10.0.1.2"), ("e2", "10.0.2.1"))
    assert check(t, {ADDR: "ar2"}, SCOPE) == []


def test_black_hole_is_named():
    t = fibs(("", None), ("e2", "10.0.2.1"))
    problems = check(t, {ADDR: "ar2"}, SCOPE)
    assert any("no route at ar1" in p for p in problems)


def test_loop_is_named():
    t = fibs(("e0", "10.0.1.2"), ("e1", "10.0.1.1"))
    problems = check(t, {ADDR: "ar2"}, SCOPE)
    assert any("loop" in p for p in problems)


def test_delivery_at_the_old_ar_is_named():
    t = fibs(("acc", None), ("e2", "10.0.2.1"), bgp_at=("agg",))
    problems = check(t, {ADDR: "ar2"}, SCOPE)
    assert any("delivers at ar1" in p for p in problems)


def test_stale_access_route_and_unexpected_host_route():
    t = fibs(
        ("e0", "10.0.1.2"), ("e2", "10.0.2.1"), bgp_at=("agg", "ar1", "core")
    )
    t["ar1"].access_routes.add(ADDR)
    problems = check(t, {ADDR: "ar2"}, SCOPE)
    assert any("stale access route at ar1" in p for p in problems)
    assert any("unexpected /32 at core" in p for p in problems)


def test_missing_host_route_is_named():
    t = fibs(("e0", "10.0.1.2"), ("e2", "10.0.2.1"), bgp_at=("agg",))
    problems = check(t, {ADDR: "ar2"}, SCOPE)
    assert problems == [f"{ADDR}: /32 missing at ar1"]


def test_no_host_routes_when_nobody_originates():
    t = fibs(("e0", "10.0.1.2"), ("e2", "10.0.2.1"), access_at=None, bgp_at=())
    assert check(t, {ADDR: "ar2"}, SCOPE) == []
