"""Logging set-up, in one place: levels, format, and the redaction of secrets."""

from __future__ import annotations

import logging

from bridge.errors import redact


class RedactingFilter(logging.Filter):
    """Replaces every registered secret in a record's final text with ********."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def setup_logging(verbosity: int) -> None:
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party chatter stays quiet unless asked for with -vv.
    for name in ("httpx", "httpcore", "aiohttp.access", "asyncio"):
        logging.getLogger(name).setLevel(level if verbosity >= 2 else logging.WARNING)
