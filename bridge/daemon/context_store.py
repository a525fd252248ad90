"""A controller's context kept between runs of the daemon: `context.json` in the data
folder, rewritten whole at each change, read back at start."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from pydantic import ValidationError

from bridge.daemon.context import Context
from bridge.files import replace_bytes_atomic

log = logging.getLogger(__name__)

CONTEXT_FILE = "context.json"


def load_context(path: Path) -> Context:
    """The context saved at `path`; an empty one, with a warning, when there is none that
    can be read (a context is a convenience: it never stops the daemon from starting)."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return Context()
    except (OSError, ValueError, RecursionError) as exc:
        log.warning(
            "the saved controller context %s cannot be read (%s); starting empty", path, exc
        )
        return Context()
    try:
        return Context.from_json(data)
    except ValidationError as exc:
        log.warning("the saved controller context %s is not one (%s); starting empty", path, exc)
        return Context()


def save_context(path: Path, context: Context) -> None:
    """Keep `context` for the next start; a failure to write is a warning."""
    data = json.dumps(context.to_json(), indent=2, ensure_ascii=False).encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_bytes_atomic(path, data + b"\n")
    except OSError as exc:
        log.warning("cannot keep the controller context in %s: %s", path, exc)
