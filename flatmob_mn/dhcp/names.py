"""Checks for the names the DHCP layer passes around."""

from __future__ import annotations

import re

from flatmob_mn.errors import DhcpError

_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_IFNAME = re.compile(r"[A-Za-z0-9_.@-]{1,15}")


def check_dns_name(name: str, what: str = "DNS name") -> str:
    """Return ``name`` without a trailing dot if it is a host name.

    Follows the preferred name syntax of RFC 1035 section 2.3.1, with
    the leading digits RFC 1123 section 2.1 allows.

    :raises DhcpError: if it is not.
    """
    bare = name[:-1] if name.endswith(".") else name
    labels = bare.split(".")
    if (
        not bare
        or len(bare) > 253
        or not all(_LABEL.fullmatch(label) for label in labels)
    ):
        raise DhcpError(f"{what} {name!r} is not a valid DNS name")
    return bare


def check_interface(name: str) -> str:
    """Return ``name`` if it can name a Linux interface.

    :raises DhcpError: if it cannot.
    """
    if not _IFNAME.fullmatch(name):
        raise DhcpError(f"{name!r} is not a valid interface name")
    return name
