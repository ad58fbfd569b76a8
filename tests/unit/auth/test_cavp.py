"""NIST CAVP KAS ECC validity vectors: static unified, one-step KDF.

The file ships with the ``cryptography-vectors`` package.  This module
reads its P-256 sections (parameter set EC) and checks that
``ecdh_secret`` and ``one_step_kdf`` reproduce every pass and fail.
The file's MAC (its header: HMAC-SHA-512, 64-bit tag, 128-bit key) is
computed over "Standard Test Message" || CAVS nonce, as MacData says.
"""

from __future__ import annotations

import hmac
import os
import re

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from flatmob_mn.auth import (
    AuthFailure,
    ecdh_secret,
    load_public_der,
    one_step_kdf,
)

cryptography_vectors = pytest.importorskip("cryptography_vectors")

FILE = os.path.join(
    os.path.dirname(cryptography_vectors.__file__),
    "asymmetric",
    "ECDH",
    "KASValidityTest_ECCStaticUnified_KDFConcat_NOKC_init.fax",
)
HASHES = {
    "SHA256": hashes.SHA256(),
    "SHA384": hashes.SHA384(),
    "SHA512": hashes.SHA512(),
}
MAC_MESSAGE = b"Standard Test Message"
HEADER = {
    "Curve selected": "P-256",
    "MAC algorithm supported": "HMAC",
    "HMAC SHAs supported": "SHA512",
    "HMACKeySize(in bits)": "128",
    "HMAC Tag length(in bits)": "64",
}


def read_file() -> tuple[dict[str, str], list[dict[str, str]]]:
    """Return the EC parameter block and every case of the EC sections."""
    header: dict[str, str] = {}
    cases: list[dict[str, str]] = []
    block = section = None
    case: dict[str, str] = {}
    with open(FILE) as f:
        for raw in f:
            line = raw.strip()
            if match := re.fullmatch(r"\[(E[B-E])\]", line):
                block = match.group(1)
            elif match := re.fullmatch(r"\[(E[B-E]) - (SHA\d+)\]", line):
                section = match.groups()
            elif match := re.fullmatch(r"\[([^:]+):\s*(.*?)\]?", line):
                if block == "EC" and section is None:
                    header[match.group(1)] = match.group(2)
            elif " = " in line and section and section[0] == "EC":
                key, value = line.split(" = ", 1)
                if key == "COUNT":
                    case = {"hash": section[1], "COUNT": value}
                    cases.append(case)
                else:
                    case[key] = value
    return header, cases


HEADER_FOUND, CASES = read_file()


def test_the_file_says_what_this_module_assumes():
    for key, value in HEADER.items():
        assert HEADER_FOUND[key].split()[0] == value
    counts = {name: 0 for name in HASHES}
    for case in CASES:
        counts[case["hash"]] += 1
    assert counts == {"SHA256": 30, "SHA384": 30, "SHA512": 30}


# SubjectPublicKeyInfo of a P-256 key up to the uncompressed point.
SPKI_P256 = bytes.fromhex(
    "3059301306072a8648ce3d020106082a8648ce3d030107034200"
)


def spki(x: str, y: str) -> bytes:
    """Return the DER of the public key (x, y), valid or not."""
    return SPKI_P256 + b"\x04" + bytes.fromhex(x) + bytes.fromhex(y)


def outcome(case: dict[str, str]) -> tuple[bool, bytes | None, bytes | None]:
    """Return (pass?, Z, DKM) of one case, as the IUT would find it."""
    curve = ec.SECP256R1()
    try:
        cavs = load_public_der(spki(case["QsCAVSx"], case["QsCAVSy"]))
        iut_public = load_public_der(spki(case["QsIUTx"], case["QsIUTy"]))
    except AuthFailure:
        return False, None, None  # a public key fails validation
    iut = ec.derive_private_key(int(case["dsIUT"], 16), curve)
    if iut.public_key() != iut_public:
        return False, None, None  # the key pair is not consistent
    z = ecdh_secret(iut, cavs)
    key_len = int(HEADER["HMACKeySize(in bits)"]) // 8
    oi = bytes.fromhex(case["OI"])
    dkm = one_step_kdf(z, oi, key_len, HASHES[case["hash"]])
    mac_data = MAC_MESSAGE + bytes.fromhex(case["Nonce"])
    tag = hmac.digest(dkm, mac_data, "sha512")[:8]
    ok = hmac.compare_digest(tag, bytes.fromhex(case["CAVSTag"]))
    return ok, z, dkm


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c['hash']}-{c['COUNT']}" for c in CASES]
)
def test_case_gives_the_expected_result(case):
    # MacData is built here, not read: reason 11 alters the file's.
    expected = case["Result"].startswith("P")
    ok, z, dkm = outcome(case)
    assert ok == expected, case["Result"]
    if expected:
        assert z == bytes.fromhex(case["Z"])
        assert dkm == bytes.fromhex(case["DKM"])


def test_every_reason_code_of_the_p256_sections_is_met():
    codes = {re.search(r"\((\d+)", c["Result"]).group(1) for c in CASES}
    assert codes == {str(n) for n in range(15)} - {"3", "4"}


def test_ecdh_secret_refuses_mixed_suites():
    p256 = ec.generate_private_key(ec.SECP256R1())
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(TypeError):
        ecdh_secret(p256, p384.public_key())


def test_spki_helper_matches_cryptography():
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    numbers = key.public_numbers()
    der = spki(f"{numbers.x:064x}", f"{numbers.y:064x}")
    assert load_public_der(der) == key
