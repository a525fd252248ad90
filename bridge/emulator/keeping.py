"""What an emulator keeps on disk, so that it outlives its process as the service does.

The built-in emulator keeps its tasks and its audio in the bridge's data folder. A job cut
short (Ctrl-C, `kill -9`, a crash) then resumes against it after a restart: finished tasks
answer as before, a task that was still running is run again from its recipe (the request
that started it), and files are rendered again from the kept audio when first asked for.

Layout: `tasks/<id>.json` (a `TaskRecord`), `audio/<audioId>.npy` (float32 frames x
channels), `port` (the port last served, tried first so that kept links still lead here).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from bridge.emulator import dsp
from bridge.files import replace_bytes_atomic

log = logging.getLogger(__name__)

# How long kept tasks and audio stay: a week, as long as any resume is likely to come.
KEEP_SECONDS = 7 * 86400.0


class Recipe(BaseModel):
    """What started a task: the operation, the base URL its links use, and its request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    op: str  # "generate", "upload", "stems", "download" or "video"
    base: str
    args: dict[str, Any]


class TaskRecord(BaseModel):
    """A task as kept between runs."""

    model_config = ConfigDict(extra="forbid")

    id: str
    kind: str
    trace_id: str
    status: str
    result: Any = None
    error_code: int | None = None
    error_message: str | None = None
    created_at: str
    finished_at: str | None = None
    recipe: Recipe | None = None


class Keeper:
    """Reads and writes an emulator's state under `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._tasks = folder / "tasks"
        self._audio = folder / "audio"
        for path in (self._tasks, self._audio):
            path.mkdir(parents=True, exist_ok=True)

    def forget_older_than(self, seconds: float, now: float) -> int:
        """Remove tasks and audio not written for `seconds`; how many files went."""
        removed = 0
        for folder in (self._tasks, self._audio):
            for path in folder.iterdir():
                with contextlib.suppress(OSError):
                    if now - path.stat().st_mtime > seconds:
                        path.unlink()
                        removed += 1
        return removed

    def keep_task(self, record: TaskRecord) -> None:
        data = record.model_dump_json().encode("utf-8")
        replace_bytes_atomic(self._tasks / f"{_safe(record.id)}.json", data)

    def tasks(self) -> list[TaskRecord]:
        """Every kept task that can be read; one that cannot is skipped with a warning."""
        records = []
        for path in sorted(self._tasks.glob("*.json")):
            try:
                records.append(TaskRecord.model_validate(json.loads(path.read_bytes())))
            except (OSError, ValueError, ValidationError) as exc:
                log.warning("emulator: a kept task %s cannot be read (%s); skipped", path, exc)
        return records

    def keep_audio(self, audio_id: str, audio: dsp.Audio) -> None:
        path = self._audio / f"{_safe(audio_id)}.npy"
        temp = path.with_name(f".{path.name}.tmp")
        with temp.open("wb") as out:
            np.save(out, np.asarray(audio, dtype=np.float32))
        os.replace(temp, path)

    def audio(self, audio_id: str) -> dsp.Audio | None:
        path = self._audio / f"{_safe(audio_id)}.npy"
        try:
            loaded: dsp.Audio = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None
        return loaded

    def last_port(self) -> int:
        """The port served last time, or 0 (any) when none was kept."""
        with contextlib.suppress(OSError, ValueError):
            port = int((self.folder / "port").read_text().strip())
            if 0 < port < 65536:
                return port
        return 0

    def keep_port(self, port: int) -> None:
        replace_bytes_atomic(self.folder / "port", f"{port}\n".encode())


def _safe(name: str) -> str:
    # Ids are the emulator's own UUIDs; anything else cannot name a file outside the folder.
    return "".join(char for char in name if char.isalnum() or char == "-") or "_"
