"""What a job must pass before it is journaled, judged the same way whatever brought it
(OSC, MIDI, the drop folder, `submit`, `run`) and before anything is paid for.

`parse_request` has judged the request itself; here the world is asked: the clip decodes
and holds the section asked for, the project lies inside the allowed roots, its results
folder can be written, and its disk has room for what the job will write.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from bridge.audio import probe
from bridge.errors import Issue, RequestError
from bridge.files import temp_path
from bridge.jobs.judging import selection_outside
from bridge.jobs.model import STEMS_ONLY, JobRequest
from bridge.jobs.placement import time_issues, upload_span, upload_window
from bridge.jobs.request import MAX_UPLOAD_SECONDS
from bridge.project import resolve_project
from bridge.project.paths import writable_issues

# What one result file may need: the longest upload, at the project's rate (48 kHz when it
# keeps the result's), two channels, four bytes a sample (the widest format written).
_BYTES_PER_FRAME: Final = 2 * 4
_RESULTS_PER_JOB: Final = 2  # the service usually answers with two clips
_STEMS: Final = 4
_HEADROOM: Final = 16 << 20  # index, manifest, temporaries


def admit(
    request: JobRequest,
    allowed_roots: Sequence[Path],
    results_folder: str,
    context: float | None,
) -> None:
    """Raise RequestError (or AudioError, ProjectError) naming what keeps the job from
    running to its end; return quietly when nothing found now would."""
    project = resolve_project(request.project, allowed_roots)
    issues = writable_issues(project, results_folder)
    if not issues:
        issues = room_issues(project, expected_bytes(request))
    if issues:
        raise RequestError(issues)
    if request.clip is not None:
        judge_clip(request, context)


def judge_clip(request: JobRequest, context: float | None) -> None:
    """The clip decodes, and the section, continuation or window asked for lies in it."""
    clip = request.clip
    assert clip is not None
    info = probe(Path(clip.path))
    visible = upload_span(clip, info.duration)
    found = time_issues(request.audio, visible.duration)
    if found and request.selection is not None:
        # Said as the person drew it: the item ends where its file (or its length) does.
        length = visible.duration / clip.playrate
        found = selection_outside(request.selection, clip.item_position, length) or found
    if found:
        raise RequestError(found)
    upload_window(request, info.duration, info.sample_rate, context)


def expected_bytes(request: JobRequest) -> int:
    """An upper bound of what the job writes into the project."""
    seconds = MAX_UPLOAD_SECONDS + (request.audio.extend_duration or 0.0)
    per_file = seconds * (request.sample_rate or 48000) * _BYTES_PER_FRAME
    if request.action == STEMS_ONLY:
        files = _STEMS
    else:
        files = _RESULTS_PER_JOB + 1 + (_STEMS * _RESULTS_PER_JOB if request.options.stems else 0)
    return int(per_file * files) + _HEADROOM


def room_issues(project: Path, needed: int) -> list[Issue]:
    """Whether the folder the results go into can be written, and its disk has `needed`
    bytes free. The project may not exist yet: its nearest existing folder is asked."""
    existing = _nearest_existing(project)
    if not existing.is_dir():
        return [Issue("project.folder", f"{existing} is a file, not a folder: choose another")]
    probe_file = temp_path(existing / "write-probe")
    try:
        os.close(os.open(probe_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return [
            Issue(
                "project.folder",
                f"cannot write in {existing} ({reason}): choose a "
                "folder you can write to, or change its permissions",
            )
        ]
    finally:
        with contextlib.suppress(OSError):
            probe_file.unlink()
    free = shutil.disk_usage(existing).free
    if free < needed:
        return [
            Issue(
                "project.folder",
                f"its disk has {free / 1e6:.0f} MB free and this job may write up to "
                f"{needed / 1e6:.0f} MB: make room, or choose a project on another disk",
            )
        ]
    return []


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor)
