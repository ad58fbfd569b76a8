"""Errors of the authentication area, all subclasses of ``AuthError``.

Hostile or broken input met while verifying a message always raises
:class:`AuthFailure` and nothing else; mistakes of the calling code
raise ``ValueError``, ``TypeError`` or the other subclasses here.
"""

from flatmob_mn.errors import AuthError


class AuthFailure(AuthError):
    """A message or key failed verification (no detail is given)."""

    def __init__(self) -> None:
        super().__init__("authentication failed")


class KeyStoreError(AuthError):
    """A key store cannot be reached, loaded or saved."""


class SessionStateError(AuthError):
    """A session was asked for a step its state does not allow."""
