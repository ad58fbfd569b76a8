"""Suites, static ECDH, FixedInfo and the key store.

An entity (MN, AR, HA) holds one static key pair.  The long-term shared
secret (LTSS) of two entities is the cofactor ECDH of one's private key
with the other's public key (SP 800-56A rev. 3, 5.7.1.2; the cofactor
of P-256 is 1, and X25519 clears it by clamping).  The master session
key (MSK) is the one-step KDF of the LTSS over FixedInfo.

FixedInfo, concatenation format of SP 800-56A rev. 3, 5.8.2.1.1; party
U is the peer (MN), party V the authenticator (AR)::

    +-----------+------------------------------------------------+
    | Llen (1)  | Label (Llen octets): names the calling function | AlgorithmID
    +-----------+------------------------------------------------+
    | Ulen (1)  | ID_U: canonical DNS name of U (Ulen octets)     | PartyUInfo
    +-----------+------------------------------------------------+
    |                     Nonce_U (16 octets)                    |
    +-----------+------------------------------------------------+
    | Vlen (1)  | ID_V: canonical DNS name of V (Vlen octets)     | PartyVInfo
    +-----------+------------------------------------------------+
    |                     Nonce_V (16 octets)                    |
    +-----------+------------------+-----------------------------+
    | Suite (1) | Epoch (32 bits)  | L, key length in bits (32)  | SuppPubInfo
    +-----------+------------------+-----------------------------+

Labels used: ``flatmob-mn/1 auth msk`` (AUTH: Z is the LTSS, Nonce_V
the authenticator nonce, Epoch its epoch) and ``flatmob-mn/1 rekey
msk`` (REKEY: Z is the current MSK, the sender's nonce is fresh, the
other is the receiver's latest, Epoch is the new generation).

MAC keys, one per direction, come from the MSK by the same one-step
KDF (SHA-256, one block) with a FixedInfo of one length octet and a
label::

    K_pa = H(00000001 || MSK || 0x14 || "flatmob-mn/1 mac p2a")
    K_ap = H(00000001 || MSK || 0x14 || "flatmob-mn/1 mac a2p")

The key store keeps the private key and the LTSS cache; it gives out
the public key and MSKs, never the private key or an LTSS.
"""

from __future__ import annotations

import enum
import hashlib
import os
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, Protocol, runtime_checkable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from flatmob_mn.auth.errors import AuthFailure, KeyStoreError
from flatmob_mn.auth.kdf import kdf_sha256_32, one_step_kdf
from flatmob_mn.auth.names import canonical_name, is_canonical_text
from flatmob_mn.auth.wire import NONCE_LEN

AUTH_LABEL = b"flatmob-mn/1 auth msk"
REKEY_LABEL = b"flatmob-mn/1 rekey msk"
MSK_LEN = 32
DEFAULT_CACHE_SIZE = 4096

PrivateKey = ec.EllipticCurvePrivateKey | x25519.X25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | x25519.X25519PublicKey

_SUPP = struct.Struct("!BII")


class Suite(enum.IntEnum):
    """A key agreement suite: the curve and the KDF's hash."""

    P256_SHA256 = 1
    X25519_SHA256 = 2

    def generate(self) -> PrivateKey:
        """Return a new private key of this suite."""
        if self is Suite.P256_SHA256:
            return ec.generate_private_key(ec.SECP256R1())
        return x25519.X25519PrivateKey.generate()

    @classmethod
    def of(cls, key: PrivateKey | PublicKey) -> Suite:
        """Return the suite of a private or public key.

        :raises TypeError: if the key belongs to no suite.
        """
        if isinstance(key, x25519.X25519PrivateKey | x25519.X25519PublicKey):
            return cls.X25519_SHA256
        if isinstance(
            key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey
        ) and isinstance(key.curve, ec.SECP256R1):
            return cls.P256_SHA256
        raise TypeError("key is neither P-256 nor X25519")


DEFAULT_SUITE = Suite.P256_SHA256
_SUITES = frozenset(Suite)


def ecdh_secret(private_key: PrivateKey, peer_public_key: PublicKey) -> bytes:
    """Return the shared secret Z of static (cofactor) ECDH.

    :raises TypeError: if the keys are not of one suite.
    :raises AuthFailure: if the peer's point is invalid (low order).
    """
    suite = Suite.of(private_key)
    if Suite.of(peer_public_key) is not suite:
        raise TypeError("keys belong to different suites")
    try:
        if isinstance(private_key, ec.EllipticCurvePrivateKey):
            assert isinstance(peer_public_key, ec.EllipticCurvePublicKey)
            return private_key.exchange(ec.ECDH(), peer_public_key)
        assert isinstance(peer_public_key, x25519.X25519PublicKey)
        return private_key.exchange(peer_public_key)
    except ValueError:
        # X25519 with a low-order point yields all zeros: refused.
        raise AuthFailure() from None


def _exchanger(private_key: PrivateKey) -> Callable[[PublicKey], bytes]:
    """Return the ECDH function of ``private_key`` (the key store's)."""
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        algorithm = ec.ECDH()
        return lambda peer: private_key.exchange(algorithm, peer)  # type: ignore[arg-type]
    return private_key.exchange  # type: ignore[return-value]


def load_public_der(der: bytes, suite: Suite | None = None) -> PublicKey:
    """Return the public key in SubjectPublicKeyInfo DER (TLSA 3 1 0).

    The point is validated (on the curve, not the identity).

    :raises AuthFailure: if ``der`` is not a valid key of ``suite``.
    """
    if not isinstance(der, bytes):
        raise AuthFailure()
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, TypeError):
        raise AuthFailure() from None
    if isinstance(key, x25519.X25519PublicKey):
        found = Suite.X25519_SHA256
    elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(
        key.curve, ec.SECP256R1
    ):
        found = Suite.P256_SHA256
    else:
        raise AuthFailure()
    if suite is not None and found is not suite:
        raise AuthFailure()
    return key


def public_der(key: PrivateKey | PublicKey) -> bytes:
    """Return the SubjectPublicKeyInfo DER of a key's public half."""
    if isinstance(key, ec.EllipticCurvePrivateKey | x25519.X25519PrivateKey):
        key = key.public_key()
    return key.public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    )


class MskContext(NamedTuple):
    """What, besides the LTSS, goes into an MSK: FixedInfo's fields.

    ``party_u`` is the peer (MN), ``party_v`` the authenticator (AR).
    Key stores call :meth:`check` before use.
    """

    label: bytes
    suite: Suite
    party_u: str
    nonce_u: bytes
    party_v: str
    nonce_v: bytes
    epoch: int

    def check(self) -> None:
        """Check every field, so FixedInfo is well-formed.

        :raises ValueError: if a field is out of range.
        :raises TypeError: if a field has the wrong type.
        """
        label, suite, u, nonce_u, v, nonce_v, epoch = self
        if not isinstance(label, bytes) or not 0 < len(label) < 256:
            raise ValueError("label must be 1..255 octets")
        if suite not in _SUITES:
            raise ValueError(f"unknown suite {suite!r}")
        if not (
            isinstance(u, str)
            and isinstance(v, str)
            and is_canonical_text(u)
            and is_canonical_text(v)
        ):
            raise ValueError("party names must be canonical DNS names")
        if u == v:
            raise ValueError("parties U and V must differ")
        if not (
            isinstance(nonce_u, bytes)
            and isinstance(nonce_v, bytes)
            and len(nonce_u) == NONCE_LEN == len(nonce_v)
        ):
            raise ValueError(f"nonces must be {NONCE_LEN} octets")
        if not isinstance(epoch, int) or not 0 <= epoch < 2**32:
            raise ValueError("epoch must be an int of 32 bits")

    def fixed_info(self, length: int = MSK_LEN) -> bytes:
        """Return FixedInfo for a key of ``length`` octets."""
        label, suite, u, nonce_u, v, nonce_v, epoch = self
        raw_u = u.encode("ascii")
        raw_v = v.encode("ascii")
        return b"".join(
            (
                bytes((len(label),)),
                label,
                bytes((len(raw_u),)),
                raw_u,
                nonce_u,
                bytes((len(raw_v),)),
                raw_v,
                nonce_v,
                _SUPP.pack(suite, epoch, 8 * length),
            )
        )

    @classmethod
    def from_fixed_info(cls, data: bytes) -> tuple[MskContext, int]:
        """Return the context and key length that ``data`` encodes.

        :raises ValueError: if ``data`` is not FixedInfo of this layout.
        """
        try:
            fields = []
            pos = 0
            for size in ("var", "var", NONCE_LEN, "var", NONCE_LEN):
                if size == "var":
                    size = data[pos]
                    pos += 1
                assert isinstance(size, int)
                fields.append(data[pos : pos + size])
                pos += size
            suite, epoch, bits = _SUPP.unpack(data[pos:])
            label, u, nu, v, nv = fields
            context = cls(
                label,
                Suite(suite),
                u.decode("ascii"),
                nu,
                v.decode("ascii"),
                nv,
                epoch,
            )
            context.check()
        except (IndexError, struct.error, UnicodeDecodeError) as exc:
            raise ValueError("malformed FixedInfo") from exc
        if bits % 8 or not 0 < bits // 8 <= 255:
            raise ValueError("key length out of range")
        if context.fixed_info(bits // 8) != data:
            raise ValueError("malformed FixedInfo")
        return context, bits // 8


# MAC keys: one-step KDF with the MSK as Z; FixedInfo is a length
# octet and a label naming the direction, so K_pa and K_ap differ.
_PA_INFO = bytes([len(b"flatmob-mn/1 mac p2a")]) + b"flatmob-mn/1 mac p2a"
_AP_INFO = bytes([len(b"flatmob-mn/1 mac a2p")]) + b"flatmob-mn/1 mac a2p"


def mac_key_pa(msk: bytes) -> bytes:
    """Return K_pa, the MAC key of peer-to-authenticator messages."""
    return kdf_sha256_32(msk, _PA_INFO)


def mac_key_ap(msk: bytes) -> bytes:
    """Return K_ap, the MAC key of authenticator-to-peer messages."""
    return kdf_sha256_32(msk, _AP_INFO)


def rekey_msk(msk: bytes, context: MskContext) -> bytes:
    """Return the MSK that follows ``msk`` (``context`` has REKEY_LABEL)."""
    return kdf_sha256_32(msk, context.fixed_info(MSK_LEN))


@runtime_checkable
class KeyStore(Protocol):
    """Holder of one entity's private key; gives out MSKs, never keys."""

    name: str
    suite: Suite

    def public_key_der(self) -> bytes:
        """Return the entity's public key as SubjectPublicKeyInfo DER."""
        ...

    def derive_msk(
        self,
        peer_name: str,
        peer_public_der: bytes,
        context: MskContext,
        length: int = MSK_LEN,
    ) -> bytes:
        """Return the MSK shared with ``peer_name`` for ``context``."""
        ...


class LtssCache:
    """Bounded LRU map from a peer's public key DER to the LTSS."""

    def __init__(self, size: int = DEFAULT_CACHE_SIZE) -> None:
        if not isinstance(size, int) or size < 0:
            raise ValueError("cache size must be a non-negative int")
        self.size = size
        self._entries: OrderedDict[bytes, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<LtssCache {len(self._entries)}/{self.size}>"

    def get(self, key: bytes) -> bytes | None:
        """Return the LTSS cached for ``key`` (marking it used), if any."""
        with self._lock:
            ltss = self._entries.get(key)
            if ltss is not None:
                self._entries.move_to_end(key)
            return ltss

    def put(self, key: bytes, ltss: bytes) -> None:
        """Cache ``ltss``, evicting the least recently used entries."""
        if self.size == 0:
            return
        with self._lock:
            self._entries[key] = ltss
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every LTSS."""
        with self._lock:
            self._entries.clear()


class LocalKeyStore:
    """An in-process key store: one private key and its LTSS cache."""

    def __init__(
        self,
        name: str,
        private_key: PrivateKey,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.name = canonical_name(name)
        self.suite = Suite.of(private_key)
        # Python cannot wipe key bytes from memory: keystored isolates.
        self._private = private_key
        self._public_der = public_der(private_key)
        self._exchange = _exchanger(private_key)
        self._cache = LtssCache(cache_size)

    def __repr__(self) -> str:
        digest = hashlib.sha256(self._public_der).hexdigest()[:16]
        return (
            f"<LocalKeyStore {self.name} {self.suite.name} "
            f"public sha256:{digest}>"
        )

    @classmethod
    def generate(
        cls,
        name: str,
        suite: Suite = DEFAULT_SUITE,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> LocalKeyStore:
        """Return a key store holding a new key pair of ``suite``."""
        return cls(name, Suite(suite).generate(), cache_size)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        name: str,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> LocalKeyStore:
        """Return a key store holding the PEM private key in ``path``.

        :raises KeyStoreError: if the file is unreadable or no such key.
        """
        try:
            pem = Path(path).read_bytes()
            key = serialization.load_pem_private_key(pem, password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise KeyStoreError(f"cannot load a key from {path}") from exc
        if not isinstance(
            key, ec.EllipticCurvePrivateKey | x25519.X25519PrivateKey
        ):
            raise KeyStoreError(f"{path}: key is neither P-256 nor X25519")
        try:
            return cls(name, key, cache_size)
        except TypeError as exc:
            raise KeyStoreError(f"{path}: {exc}") from exc

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the private key to ``path`` as PKCS#8 PEM, mode 0600.

        :raises KeyStoreError: if the file cannot be written.
        """
        pem = self._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
        try:
            fd = os.open(path, flags, 0o600)
            with os.fdopen(fd, "wb") as f:
                os.fchmod(f.fileno(), 0o600)
                f.write(pem)
        except OSError as exc:
            raise KeyStoreError(f"cannot write the key to {path}") from exc

    def public_key_der(self) -> bytes:
        """Return the public key as SubjectPublicKeyInfo DER."""
        return self._public_der

    @property
    def cached_peers(self) -> int:
        """Return how many LTSS the cache holds."""
        return len(self._cache)

    def forget(self) -> None:
        """Empty the LTSS cache."""
        self._cache.clear()

    def derive_msk(
        self,
        peer_name: str,
        peer_public_der: bytes,
        context: MskContext,
        length: int = MSK_LEN,
    ) -> bytes:
        """Return the MSK shared with ``peer_name`` for ``context``.

        This store's name must be one party of ``context`` and
        ``peer_name`` the other.

        :raises ValueError: if the context does not name both parties.
        :raises AuthFailure: if the peer's public key is invalid.
        """
        if not isinstance(context, MskContext):
            raise TypeError("context must be an MskContext")
        context.check()
        if context.suite != self.suite:
            raise ValueError("context names another suite")
        me = self.name
        if not (
            (context.party_u == me and context.party_v == peer_name)
            or (context.party_v == me and context.party_u == peer_name)
        ):
            raise ValueError("context must name this store and the peer")
        if not 0 < length <= 255:
            raise ValueError("MSK length must be 1..255 octets")
        ltss = self._cache.get(peer_public_der)
        if ltss is None:
            key = load_public_der(peer_public_der, self.suite)
            try:
                ltss = self._exchange(key)
            except ValueError:
                # X25519 with a low-order point yields all zeros: refused.
                raise AuthFailure() from None
            self._cache.put(peer_public_der, ltss)
        info = context.fixed_info(length)
        if length == MSK_LEN:
            return kdf_sha256_32(ltss, info)
        return one_step_kdf(ltss, info, length)
