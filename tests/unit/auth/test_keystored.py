"""The key store over a Unix socket: same MSKs, no private material."""

from __future__ import annotations

import os
import socket
import stat
import struct
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from flatmob_mn.auth import (
    Authenticator,
    AuthFailure,
    KeyStore,
    KeyStoreError,
    KeyStoreServer,
    LocalKeyStore,
    MskContext,
    Peer,
    RemoteKeyStore,
    Suite,
    ecdh_secret,
    keystored,
    load_public_der,
)
from flatmob_mn.auth.keys import AUTH_LABEL

from .conftest import AR, MN, fixed_key

NU, NV = b"u" * 16, b"v" * 16


def context(suite) -> MskContext:
    return MskContext(AUTH_LABEL, suite, MN, NU, AR, NV, 1)


@pytest.fixture
def served(tmp_path, suite):
    """Return (local store, remote store) of the AR, served in a thread."""
    local = LocalKeyStore(AR, fixed_key(suite, 2))
    path = tmp_path / "ar1.sock"
    with KeyStoreServer(local, path):
        remote = RemoteKeyStore(path)
        yield local, remote
        remote.close()
    assert not path.exists()


def request(path, frame: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        sock.sendall(frame)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
            if len(data) >= 4 and len(data) >= 4 + int.from_bytes(
                data[:4], "big"
            ):
                return data


def test_remote_gives_the_same_msk(served, suite):
    local, remote = served
    assert isinstance(remote, KeyStore)
    assert (remote.name, remote.suite) == (AR, suite)
    assert remote.public_key_der() == local.public_key_der()
    mn_der = LocalKeyStore(MN, fixed_key(suite, 1)).public_key_der()
    ctx = context(suite)
    assert remote.derive_msk(MN, mn_der, ctx) == local.derive_msk(
        MN, mn_der, ctx
    )
    assert remote.derive_msk(MN, mn_der, ctx, 64) == local.derive_msk(
        MN, mn_der, ctx, 64
    )


def test_protocol_through_the_remote_store(served, suite):
    _, remote = served
    mn = LocalKeyStore(MN, fixed_key(suite, 1))
    auth = Authenticator(remote)
    data, session = Peer(mn).start(
        AR, remote.public_key_der(), auth.nonce, auth.epoch, reroute=True
    )
    verified = auth.verify(data, mn.public_key_der())
    assert verified.msk == session.msk
    with pytest.raises(AuthFailure):
        auth.verify(data, mn.public_key_der())


def test_remote_errors(served, suite):
    _, remote = served
    bad = ec.generate_private_key(ec.SECP384R1()).public_key()
    der = bad.public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    with pytest.raises(AuthFailure):
        remote.derive_msk(MN, der, context(suite))
    with pytest.raises(ValueError):  # the store is not a party
        remote.derive_msk(
            MN, der, context(suite)._replace(party_v="ar9.lab.example")
        )


def test_socket_is_private(served, tmp_path):
    mode = os.stat(tmp_path / "ar1.sock").st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600


def test_no_operation_returns_private_material(served, tmp_path, suite):
    local, _ = served
    path = tmp_path / "ar1.sock"
    private = fixed_key(suite, 2)
    mn_der = LocalKeyStore(MN, fixed_key(suite, 1)).public_key_der()
    ltss = ecdh_secret(private, load_public_der(mn_der))
    if suite is Suite.P256_SHA256:
        scalar = private.private_numbers().private_value.to_bytes(32, "big")
    else:
        scalar = private.private_bytes_raw()
    secrets = [scalar, ltss]
    derive = (
        bytes([len(MN)])
        + MN.encode()
        + struct.pack("!H", len(mn_der))
        + mn_der
        + context(suite).fixed_info()
    )
    answered = set()
    for op in range(256):
        for payload in (b"", b"\x00" * 8, derive):
            frame = bytes([op]) + payload
            answer = request(path, struct.pack("!I", len(frame)) + frame)
            assert answer, (op, payload)
            status, body = answer[4], answer[5:]
            if status == keystored.STATUS_OK:
                answered.add(op)
            for secret in secrets:
                assert secret not in body
                assert secret[:8] not in body
    assert answered == {
        keystored.OP_INFO,
        keystored.OP_PUBLIC,
        keystored.OP_DERIVE,
    }
    # Oversized, empty and truncated frames: the server just hangs up.
    for frame in (struct.pack("!I", 10**6), struct.pack("!I", 0)):
        assert request(path, frame) == b""
    assert local.cached_peers == 1


def test_subprocess_key_store(tmp_path):
    store = LocalKeyStore.generate(AR)
    key = tmp_path / "ar1.pem"
    store.save(key)
    path = tmp_path / "ks.sock"
    process = keystored.spawn(key, AR, path)
    try:
        remote = RemoteKeyStore(path)
        assert remote.public_key_der() == store.public_key_der()
        mn = LocalKeyStore.generate(MN)
        ctx = context(Suite.P256_SHA256)
        assert remote.derive_msk(
            MN, mn.public_key_der(), ctx
        ) == store.derive_msk(MN, mn.public_key_der(), ctx)
        remote.close()
    finally:
        keystored.stop(process)
    assert process.returncode == 0
    assert not path.exists()
    with pytest.raises(KeyStoreError):
        RemoteKeyStore(path, timeout=0.5)


def test_key_store_process_refuses_a_bad_key(tmp_path):
    (tmp_path / "junk.pem").write_text("junk")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flatmob_mn.auth.keystored",
            "--key",
            str(tmp_path / "junk.pem"),
            "--name",
            AR,
            "--socket",
            str(tmp_path / "s.sock"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1 and "cannot load" in result.stderr
    assert not (tmp_path / "s.sock").exists()


def test_existing_socket_path_is_refused(tmp_path):
    (tmp_path / "taken").write_text("")
    server = KeyStoreServer(LocalKeyStore.generate(AR), tmp_path / "taken")
    with pytest.raises(KeyStoreError):
        server.start()


def test_spawn_records_the_process_in_the_run_directory(tmp_path, monkeypatch):
    from flatmob_mn import runstate

    monkeypatch.setenv(runstate.RUN_ROOT_ENV, str(tmp_path / "runs"))
    run = runstate.RunDir.create("fa-keystore")
    key = run.node_dir("ar1") / "key.pem"
    LocalKeyStore.generate(AR).save(key)
    process = keystored.spawn(key, AR, run.node_dir("ar1") / "ks.sock", run)
    try:
        records = run.processes()
        assert [(r.pid, r.label) for r in records] == [
            (process.pid, f"keystored {AR}")
        ]
        assert records[0].alive()
    finally:
        keystored.stop(process)
    assert not records[0].alive()
