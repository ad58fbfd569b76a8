"""DNS names of entities, in the one canonical form the protocol uses.

Canonical form: lower-case ASCII, no trailing dot, labels of 1 to 63
letters, digits, hyphens or underscores (not starting or ending with a
hyphen), at most 253 octets in all.  The same octets go on the wire and
into FixedInfo, so both sides derive the same keys.
"""

from __future__ import annotations

import re

MAX_NAME = 253

_LABEL = rb"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_NAME = re.compile(rb"%s(?:\.%s)*" % (_LABEL, _LABEL))


# Names already found canonical; the same few recur, so this saves the
# regular expression on the hot path.  Bounded: cleared when full.
_MAX_KNOWN = 4096
_known_raw: set[bytes] = set()
_known_text: set[str] = set()


def is_canonical(raw: bytes) -> bool:
    """Tell whether ``raw`` is a canonical DNS name."""
    if raw in _known_raw:
        return True
    if len(raw) > MAX_NAME or _NAME.fullmatch(raw) is None:
        return False
    if len(_known_raw) >= _MAX_KNOWN:
        _known_raw.clear()
    _known_raw.add(bytes(raw))
    return True


def is_canonical_text(name: str) -> bool:
    """Tell whether the str ``name`` is a canonical DNS name."""
    if name in _known_text:
        return True
    if not name.isascii() or not is_canonical(name.encode("ascii")):
        return False
    if len(_known_text) >= _MAX_KNOWN:
        _known_text.clear()
    _known_text.add(name)
    return True


def canonical_name(name: str) -> str:
    """Return ``name`` in canonical form (lower case, no final dot).

    :raises TypeError: if ``name`` is not a str.
    :raises ValueError: if ``name`` is not a valid host name.
    """
    if not isinstance(name, str):
        raise TypeError("a DNS name must be a str")
    text = name.lower()
    if text.endswith("."):
        text = text[:-1]
    if not is_canonical_text(text):
        raise ValueError(f"not a valid DNS name: {name!r}")
    return text
