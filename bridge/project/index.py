"""The finished-jobs index: one JSON line per job, appended under a lock.

Several bridge processes (and threads) may finish jobs at once, and a crash may cut a
line short. Each append therefore takes an exclusive lock, skips a job already listed
(a resumed job finishes twice), starts on a fresh line, and writes its line whole. The lock
is taken on a file of its own beside the index, `.index.jsonl.lock` (`filelock`: flock on
Linux and macOS, a byte-range lock on Windows), so readers of the index never meet a
locked file.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from bridge.errors import ProjectError
from bridge.files import Folder, translate_os_error

log = logging.getLogger(__name__)

INDEX_NAME = "index.jsonl"
INDEX_LOCK_NAME: Final = ".index.jsonl.lock"
INDEX_SCHEMA_VERSION: Final = 1


class IndexLine(BaseModel):
    """One line of `index.jsonl`: a finished job and where its manifest is."""

    model_config = ConfigDict(
        frozen=True,
        strict=True,
        title="producer-bridge finished-jobs index line, version 1",
        json_schema_extra={"$id": "https://producer-bridge.invalid/schemas/index-line-1.json"},
    )

    schemaVersion: Literal[1] = Field(description="Version of this line's format.")
    jobId: str = Field(min_length=1, description="The bridge's id for the job.")
    finishedAt: str = Field(description="When the job finished: ISO 8601 date-time in UTC.")
    action: str = Field(description="The action the job ran.")
    title: str | None = Field(description="The title of the result, or null if it has none.")
    manifest: str = Field(
        description="The job's manifest, as a POSIX path relative to the results root."
    )


def index_entry(
    *, job_id: str, finished_at: str, action: str, title: str | None, manifest: str
) -> dict[str, Any]:
    """An index line; `manifest` is the manifest's POSIX path relative to the results root."""
    line = IndexLine(
        schemaVersion=INDEX_SCHEMA_VERSION,
        jobId=job_id,
        finishedAt=finished_at,
        action=action,
        title=title,
        manifest=manifest,
    )
    return line.model_dump()


def append_index(results_root: Path, entry: Mapping[str, Any]) -> bool:
    """Append `entry` unless its jobId is listed already; True if it was appended.
    `results_root` is resolved: a link on its way, or at the index or its lock, is refused."""
    job_id = entry.get("jobId")
    if not isinstance(job_id, str) or not job_id:
        raise ProjectError(f"index entry without a jobId: {dict(entry)!r}")
    path = results_root / INDEX_NAME
    line = json.dumps(dict(entry), ensure_ascii=False, separators=(",", ":")) + "\n"
    try:
        # The index is opened before the lock is taken: a missing results folder is an
        # error here, not a folder the lock would create.
        with (
            Folder.open(results_root) as folder,
            open(_open_index(folder), "a+b", buffering=0) as index,
            folder.locked(INDEX_LOCK_NAME),
        ):
            # The lock covers read-check-write: two finishers of one job cannot both append.
            index.seek(0)
            existing = index.readall()
            if _listed(existing, job_id):
                log.info("job %s is already in %s; not listed twice", job_id, path)
                return False
            # A crash may have left a torn last line: start ours on a line of its own.
            prefix = b"\n" if existing and not existing.endswith(b"\n") else b""
            _write_whole(index, prefix + line.encode("utf-8"))
            os.fsync(index.fileno())
    except OSError as exc:
        raise translate_os_error(exc, results_root) from exc
    return True


def read_index(results_root: Path) -> list[dict[str, Any]]:
    """The index entries in order; blank and unreadable lines are skipped with a warning."""
    path = results_root / INDEX_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ProjectError(
            f"cannot read the job index {path}: {exc}; check its permissions"
        ) from exc
    entries: list[dict[str, Any]] = []
    for number, text in enumerate(raw.split(b"\n"), start=1):
        if not text.strip():
            continue
        entry = _parse(text)
        if entry is None:
            log.warning("%s line %d is not a JSON object; skipped", path, number)
            continue
        entries.append(entry)
    return entries


def _open_index(folder: Folder) -> int:
    return folder.open_file(INDEX_NAME, os.O_RDWR | os.O_APPEND | os.O_CREAT)


def _listed(raw: bytes, job_id: str) -> bool:
    """Whether a line of the index lists `job_id`. Only the lines holding the id's text
    are parsed: the index grows with every job and is read under the lock."""
    needle = json.dumps(job_id, ensure_ascii=False)[1:-1].encode("utf-8")  # as written
    if needle not in raw:
        return False
    for text in raw.split(b"\n"):
        entry = _parse(text) if needle in text else None
        if entry is not None and entry.get("jobId") == job_id:
            return True
    return False


def _parse(text: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _write_whole(index: io.FileIO, data: bytes) -> None:
    # One write is the normal case; a short write (disk filling up) continues under the
    # same lock, so no other line can land in the middle of this one. The file is open
    # for appending: every write goes to its end, wherever a read left the position.
    written = index.write(data)
    while written < len(data):
        written += index.write(data[written:])
