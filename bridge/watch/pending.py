"""Markers that make "take a dropped file, then journal its job" recoverable.

Before an input moves into done/, a marker naming it is written there. A move is a hard
link and an unlink, so the file keeps its inode, and the marker names the file by inode
and device: wherever in done/ the move put it, it can be found again. The marker goes once
the daemon has answered. A marker still there at start means the daemon stopped in
between; the file is handed over again, and the daemon's journal (one job per source file)
makes sure that it becomes at most one job.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bridge.files import write_bytes_atomic

log = logging.getLogger(__name__)

PREFIX: Final = ".pending-"


@dataclass(frozen=True)
class Pending:
    marker: Path
    kind: str  # the drop rules' Kind value: "clip" or "request"
    folder: str  # the drop subfolder it came from
    inode: int
    device: int
    sidecar: dict[str, Any] | None  # a clip's sidecar, as read before the move
    sidecar_suffix: str | None  # ".json" or ".JSON" when the clip had a sidecar


def write(
    done: Path,
    path: Path,
    *,
    kind: str,
    folder: str,
    sidecar: dict[str, Any] | None = None,
    sidecar_suffix: str | None = None,
) -> Path:
    """A durable marker for `path`, about to move into `done`. OSError if it cannot be."""
    done.mkdir(exist_ok=True)
    st = path.stat()
    marker = done / f"{PREFIX}{uuid.uuid4().hex}.json"
    record = {
        "kind": kind,
        "folder": folder,
        "inode": st.st_ino,
        "device": st.st_dev,
        "name": path.name,
        "sidecar": sidecar,
        "sidecarSuffix": sidecar_suffix,
    }
    write_bytes_atomic(marker, json.dumps(record, ensure_ascii=False).encode("utf-8"))
    return marker


def found(done: Path) -> list[Pending]:
    """Every marker left in `done` by a daemon that stopped; unreadable ones are removed."""
    markers = []
    try:
        names = sorted(name for name in os.listdir(done) if name.startswith(PREFIX))
    except OSError:
        return []
    for name in names:
        marker = done / name
        try:
            data = json.loads(marker.read_text(encoding="utf-8"))
            markers.append(
                Pending(
                    marker,
                    str(data["kind"]),
                    str(data["folder"]),
                    int(data["inode"]),
                    int(data["device"]),
                    data.get("sidecar"),
                    data.get("sidecarSuffix"),
                )
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("drop folder: removing unreadable marker %s: %s", marker, exc)
            marker.unlink(missing_ok=True)
    return markers


def locate(done: Path, pending: Pending) -> Path | None:
    """Where in `done` the marked file went, or None if it never got there."""
    with os.scandir(done) as entries:
        for entry in entries:
            if entry.name.startswith(".") or entry.inode() != pending.inode:
                continue
            try:
                if entry.stat(follow_symlinks=False).st_dev == pending.device:
                    return Path(entry.path)
            except OSError:
                continue
    return None
