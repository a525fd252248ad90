"""Which addresses stay on this machine, which bind errors mean the port is taken, and the
certificate check of HTTPS clients."""

from __future__ import annotations

import errno
import functools
import ipaddress
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import ssl

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


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default certificate check (certifi's authorities, or SSL_CERT_FILE or
    SSL_CERT_DIR), built once per process: reading the authorities takes tens of
    milliseconds, which every new client would otherwise pay again."""
    import httpx  # only the processes that make HTTP clients pay for importing it

    return httpx.create_ssl_context()
