"""Errors of the naming area, all subclasses of ``NamingError``."""

from flatmob_mn.errors import NamingError


class RecordFormatError(NamingError):
    """A record's content does not follow the expected format."""


class NamingPlanError(NamingError):
    """The naming plan cannot be built from the given entities."""


class NameServerError(NamingError):
    """The name server failed to build, start or serve its zones."""


class ServerUnreachable(NamingError):
    """The name server did not answer within the retries and timeout."""


class BogusAnswer(NamingError):
    """An answer failed DNSSEC validation or broke the protocol."""


class NoRecord(NamingError):
    """The name or the record type does not exist (proven)."""

    def __init__(self, message: str, ttl: int = 0) -> None:
        super().__init__(message)
        #: Seconds the absence may be cached (RFC 2308 negative TTL).
        self.ttl = ttl


class ServerFailure(NamingError):
    """The server answered a lookup with an error (SERVFAIL, REFUSED)."""


class UpdateRefused(NamingError):
    """The server refused an update (rcode REFUSED or a denied key)."""


class UpdateNotAuth(UpdateRefused):
    """The server is not authoritative for the update's zone."""


class UpdateBadKey(UpdateRefused):
    """The server rejected the update's TSIG (BADKEY, BADSIG, BADTIME).

    Knot answers NOTAUTH with TSIG error BADKEY both for an unknown key
    and for a known key that its ACL does not allow to make the change.
    """


class DelvError(NamingError):
    """delv could not run or did not validate the answer."""
