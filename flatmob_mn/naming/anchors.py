"""Trust anchors: the DNSKEY each zone's answers must chain to.

The anchors file uses BIND's ``trust-anchors`` syntax, which both
``delv -a FILE`` and ``read_anchors`` accept::

    trust-anchors {
        "mn.flatmob.test." static-key 257 3 13 "base64 key";
    };
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
from dns.rdtypes.ANY.DNSKEY import DNSKEY

from flatmob_mn.naming.errors import RecordFormatError

#: Zone name (absolute, lower case) to the DNSKEYs anchoring it.
TrustAnchors = Mapping[str, tuple[DNSKEY, ...]]

_LINE_RE = re.compile(
    r'\s*"([^"]+)"\s+(?:static-key|initial-key)\s+'
    r'(\d+)\s+(\d+)\s+(\d+)\s+"([^"]+)"\s*;'
)


def dnskey_from_text(text: str) -> DNSKEY:
    """Return the DNSKEY of ``flags protocol algorithm base64``.

    :raises RecordFormatError: if ``text`` is no DNSKEY.
    """
    try:
        rdata = dns.rdata.from_text(
            dns.rdataclass.IN, dns.rdatatype.DNSKEY, text
        )
    except dns.exception.DNSException as e:
        raise RecordFormatError(f"not a DNSKEY: {text!r}") from e
    assert isinstance(rdata, DNSKEY)
    return rdata


def format_anchors(anchors: TrustAnchors) -> str:
    """Return the ``trust-anchors`` clause holding ``anchors``."""
    lines = ["trust-anchors {"]
    for zone in sorted(anchors):
        for key in anchors[zone]:
            flags, proto, alg, b64 = key.to_text().split(" ", 3)
            b64 = b64.replace(" ", "")
            lines.append(
                f'    "{zone}" static-key {flags} {proto} {alg} "{b64}";'
            )
    lines.append("};")
    return "\n".join(lines) + "\n"


def parse_anchors(text: str) -> dict[str, tuple[DNSKEY, ...]]:
    """Return the anchors of a ``trust-anchors`` clause.

    :raises RecordFormatError: if no anchor can be read.
    """
    found: dict[str, list[DNSKEY]] = {}
    for match in _LINE_RE.finditer(text):
        zone = dns.name.from_text(match.group(1)).to_text().lower()
        key = dnskey_from_text(" ".join(match.group(i) for i in (2, 3, 4, 5)))
        found.setdefault(zone, []).append(key)
    if not found:
        raise RecordFormatError("no trust anchor found")
    return {zone: tuple(keys) for zone, keys in found.items()}


def write_anchors(anchors: TrustAnchors, path: Path) -> None:
    """Write ``anchors`` to ``path`` in the ``trust-anchors`` syntax."""
    path.write_text(format_anchors(anchors))


def read_anchors(path: Path) -> dict[str, tuple[DNSKEY, ...]]:
    """Return the anchors of the file at ``path``.

    :raises RecordFormatError: if the file holds no anchor.
    """
    return parse_anchors(Path(path).read_text())
