"""The authentication protocol between mobile nodes and access routers.

In: each entity's static key pair (in a key store), the other side's
DNS name and public key (SubjectPublicKeyInfo DER, from its TLSA 3 1 0
record), the authenticator's published nonce and epoch, a clock and a
random source.  Out: one AUTH message (peer to authenticator), its
verification (the peer's name, whether to re-route, which addresses,
the timestamp), a REPLY, and on both sides a shared master session key
(MSK) that REKEY messages can refresh.

Keys: static ECDH (P-256 by default, or X25519) gives the long-term
shared secret (LTSS); the SP 800-56A one-step KDF over the LTSS and
FixedInfo (label, names, nonces) gives the MSK; HMAC-SHA-256 under
per-direction keys derived from the MSK tags every message.

Every failed verification raises :class:`AuthFailure` and nothing else.
"""

from flatmob_mn.auth.errors import (
    AuthFailure,
    KeyStoreError,
    SessionStateError,
)
from flatmob_mn.auth.kdf import one_step_kdf
from flatmob_mn.auth.keys import (
    DEFAULT_SUITE,
    KeyStore,
    LocalKeyStore,
    LtssCache,
    MskContext,
    Suite,
    ecdh_secret,
    load_public_der,
    public_der,
)
from flatmob_mn.auth.keystored import KeyStoreServer, RemoteKeyStore
from flatmob_mn.auth.names import canonical_name
from flatmob_mn.auth.protocol import (
    Authenticator,
    Peer,
    PeerSession,
    Reply,
    Session,
    SessionState,
    Verified,
)
from flatmob_mn.auth.wire import (
    AuthMessage,
    MessageType,
    RekeyMessage,
    ReplyCode,
    ReplyMessage,
    decode_auth,
    decode_rekey,
    decode_reply,
    encode,
    encode_auth,
    peek_names,
)

__all__ = [
    "DEFAULT_SUITE",
    "AuthFailure",
    "AuthMessage",
    "Authenticator",
    "KeyStore",
    "KeyStoreError",
    "KeyStoreServer",
    "LocalKeyStore",
    "LtssCache",
    "MessageType",
    "MskContext",
    "Peer",
    "PeerSession",
    "RekeyMessage",
    "RemoteKeyStore",
    "Reply",
    "ReplyCode",
    "ReplyMessage",
    "Session",
    "SessionState",
    "SessionStateError",
    "Suite",
    "Verified",
    "canonical_name",
    "decode_auth",
    "decode_rekey",
    "decode_reply",
    "ecdh_secret",
    "encode",
    "encode_auth",
    "load_public_der",
    "one_step_kdf",
    "peek_names",
    "public_der",
]
