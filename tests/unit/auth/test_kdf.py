"""The one-step KDF against cryptography's ConcatKDFHash."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash

from flatmob_mn.auth import one_step_kdf
from flatmob_mn.auth.kdf import kdf_sha256_32

ALGORITHMS = [
    hashes.SHA224(),
    hashes.SHA256(),
    hashes.SHA384(),
    hashes.SHA512(),
    hashes.SHA3_256(),
]


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=lambda a: a.name)
@pytest.mark.parametrize("length", [1, 16, 32, 33, 64, 65, 200])
def test_matches_concat_kdf_hash(algorithm, length):
    z = bytes(range(32))
    info = b"fixed info \x00\x01"
    expected = ConcatKDFHash(algorithm, length, info).derive(z)
    assert one_step_kdf(z, info, length, algorithm) == expected


def test_default_is_sha256_and_fast_path_agrees():
    z, info = b"\x07" * 32, b"label"
    assert one_step_kdf(z, info, 32) == kdf_sha256_32(z, info)
    assert one_step_kdf(z, info, 32) == one_step_kdf(
        z, info, 32, hashes.SHA256()
    )


def test_counter_starts_at_one():
    import hashlib

    z, info = b"z" * 32, b"i"
    block = hashlib.sha256(b"\x00\x00\x00\x01" + z + info).digest()
    assert one_step_kdf(z, info, 32) == block


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((b"z", b"i", 0), ValueError),
        ((b"z", b"i", -1), ValueError),
        ((b"z", b"i", True), TypeError),
        (("z", b"i", 32), TypeError),
        ((b"z", "i", 32), TypeError),
        ((b"z", b"i", 32, "sha256"), TypeError),
    ],
)
def test_caller_mistakes(args, error):
    with pytest.raises(error):
        one_step_kdf(*args)
