"""Key derivation: the SP 800-56A / 56C one-step (concatenation) KDF.

NIST SP 800-56C rev. 2, section 4.1, option 1 (the hash function as H)::

    K(i) = H(counter_i || Z || FixedInfo),  counter_i = i as 32 bits,
    i = 1 .. ceil(L / hash_len),  DKM = leftmost L bits of K(1) || ...

This is what ``cryptography``'s ``ConcatKDFHash`` computes; the counter
comes first (``X963KDF``, which puts it after Z, is another function).
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import hashes

_COUNTER_1 = b"\x00\x00\x00\x01"
_MAX_COUNTER = 2**32 - 1


def one_step_kdf(
    z: bytes,
    fixed_info: bytes,
    length: int,
    algorithm: hashes.HashAlgorithm | None = None,
) -> bytes:
    """Derive ``length`` bytes from the shared secret ``z``.

    :param z: the shared secret (SP 800-56A's Z).
    :param fixed_info: FixedInfo, built by the caller.
    :param length: bytes of keying material to return (at least 1).
    :param algorithm: a SHA-2 or SHA-3 hash; SHA-256 if omitted.
    :raises TypeError: if an argument has the wrong type.
    :raises ValueError: if the length or the algorithm is not allowed.
    """
    algorithm = algorithm or hashes.SHA256()
    if not isinstance(algorithm, hashes.HashAlgorithm):
        raise TypeError("algorithm must be a cryptography hash algorithm")
    if not isinstance(z, bytes) or not isinstance(fixed_info, bytes):
        raise TypeError("z and fixed_info must be bytes")
    if not isinstance(length, int) or isinstance(length, bool):
        raise TypeError("length must be an int")
    try:
        hashlib.new(algorithm.name)
    except ValueError as exc:
        raise ValueError(f"hash {algorithm.name} is not usable") from exc
    size = algorithm.digest_size
    if length < 1 or length > size * _MAX_COUNTER:
        raise ValueError("length out of range for the one-step KDF")
    blocks = []
    for counter in range(1, -(-length // size) + 1):
        h = hashlib.new(algorithm.name)
        h.update(counter.to_bytes(4, "big"))
        h.update(z)
        h.update(fixed_info)
        blocks.append(h.digest())
    return b"".join(blocks)[:length]


def kdf_sha256_32(z: bytes, fixed_info: bytes) -> bytes:
    """Return 32 bytes of the one-step KDF with SHA-256 (one block)."""
    return hashlib.sha256(_COUNTER_1 + z + fixed_info).digest()
