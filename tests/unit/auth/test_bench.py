"""The benchmark runs and reports every figure (targets not asserted)."""

from __future__ import annotations

from flatmob_mn.auth import bench


def test_bench_prints_every_figure(capsys):
    status = bench.main(
        [
            "--repeats",
            "1",
            "--fresh",
            "20",
            "--cached",
            "200",
            "--suite",
            "X25519_SHA256",
        ]
    )
    out = capsys.readouterr().out
    assert status in (0, 1)
    for label in (
        "raw ECDH",
        "DER parse + ECDH",
        "fresh ECDH",
        "cached LTSS",
        "per second",
    ):
        assert label in out
    assert "X25519_SHA256" in out and "P256_SHA256" not in out
