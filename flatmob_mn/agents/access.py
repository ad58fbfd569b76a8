"""Messages an MN and its AR exchange on the access link, over UDP.

Every AR answers on the anycast gateway address, which is the same on
every access link (and so is the gateway's MAC), so an MN that moved
needs no reconfiguration: it keeps talking to ``GATEWAY`` and reaches
whichever AR it is attached to now.

Each datagram starts with one type byte::

     0                   1
     0 1 2 3 4 5 6 7 8 9 0 1 ...
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     type      |   body ...  |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

- SOLICIT (MN to AR): empty body; asks the AR who it is.
- ADVERT (AR to MN): the AR's DNS name, nonce epoch and nonce, as
  ``u8 name length | name | u32 epoch | u8 nonce length | nonce``.
  Nothing in it is trusted: a wrong name or nonce only makes the
  authentication that follows fail.
- AUTH (MN to AR) and REPLY (AR to MN): the body is the authentication
  protocol's own message (see ``flatmob_mn.auth``).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from flatmob_mn.errors import AgentError
from flatmob_mn.topology.addressing import ANYCAST_GATEWAY, ANYCAST_MAC

# The anycast gateway every AR holds on its access bridge, with one
# shared MAC address; the MN's default route and its agent use it.
GATEWAY = str(ANYCAST_GATEWAY.ip)
GATEWAY_MAC = ANYCAST_MAC
ACCESS_PORT = 7410
DNS_PORT = 53
MAX_DATAGRAM = 2048


class Kind(enum.IntEnum):
    """Type byte of an access datagram."""

    SOLICIT = 1
    ADVERT = 2
    AUTH = 3
    REPLY = 4


@dataclass(frozen=True)
class Advert:
    """An AR's answer to a solicitation."""

    ar_name: str
    epoch: int
    nonce: bytes

    def to_bytes(self) -> bytes:
        """Encode the advert as a datagram."""
        name = self.ar_name.encode("ascii")
        return (
            bytes([Kind.ADVERT, len(name)])
            + name
            + struct.pack("!IB", self.epoch, len(self.nonce))
            + self.nonce
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Advert:
        """Decode an advert datagram.

        :raises AgentError: if the datagram is not a well-formed advert.
        """
        try:
            if data[0] != Kind.ADVERT:
                raise ValueError("not an advert")
            n = data[1]
            name = data[2 : 2 + n].decode("ascii")
            epoch, m = struct.unpack_from("!IB", data, 2 + n)
            nonce = data[7 + n : 7 + n + m]
            if len(nonce) != m or len(data) != 7 + n + m:
                raise ValueError("bad length")
        except (IndexError, ValueError, struct.error) as exc:
            raise AgentError(f"malformed advert: {exc}") from exc
        return cls(name, epoch, nonce)


def frame(kind: Kind, body: bytes = b"") -> bytes:
    """Prefix ``body`` with its type byte."""
    return bytes([kind]) + body


def kind_of(data: bytes) -> Kind | None:
    """Return the type of a datagram, or None if it has none we know."""
    if not data:
        return None
    try:
        return Kind(data[0])
    except ValueError:
        return None
