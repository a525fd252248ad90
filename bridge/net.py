"""Which addresses stay on this machine, and which bind errors mean the port is taken."""

from __future__ import annotations

import errno
import ipaddress
from typing import Final
from urllib.parse import urlsplit

WSAEADDRINUSE: Final = 10048  # Windows' own number, in OSError.winerror


def is_loopback(host: str) -> bool:
    """True for "localhost" and loopback IP addresses (127.0.0.0/8, ::1), brackets allowed."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """True when `url` names this machine's loopback address (only it can reach it)."""
    return is_loopback(urlsplit(url).hostname or "")


def address_in_use(exc: BaseException) -> bool:
    """True when a bind failed because another socket holds the address and port."""
    if not isinstance(exc, OSError):
        return False
    return exc.errno == errno.EADDRINUSE or getattr(exc, "winerror", None) == WSAEADDRINUSE
