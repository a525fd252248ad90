"""What a preview plays: a file named directly, or the file a finished job wrote.

A job plays its spliced file (the original with the new part in it) when it has one, else
its first result. A file named directly must lie inside the given roots, symlinks
resolved, as a request's clip must.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from bridge.errors import AudioError, JobError, ProjectError
from bridge.jobs.state import UNFINISHED, Job
from bridge.project.manifest import FileEntry, Manifest
from bridge.project.paths import inside_roots, real_path

PREVIEW_KINDS: Final = ("spliced", "result")  # what a job plays, in order of preference


def pick_file(files: Sequence[FileEntry]) -> FileEntry | None:
    """The file a job's preview plays: the spliced clip if there is one, else the result."""
    for kind in PREVIEW_KINDS:
        for entry in files:
            if entry.kind == kind:
                return entry
    return None


def job_file(job: Job) -> Path:
    """The file to play for a job, from its manifest; JobError when it has none yet."""
    short = job.short_id
    if not job.facts.manifest:
        if job.status in UNFINISHED:
            at = f" at {job.step}" if job.step else ""
            raise JobError(
                f"job {short} is {job.status}{at}: it has nothing to play until it completes "
                f"(`producer-bridge jobs show {short}`)"
            )
        raise JobError(f"job {short} is {job.status} and wrote no files: nothing to play")
    project = Path(job.request.project)
    path = project / job.facts.manifest
    try:
        manifest = Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise ProjectError(f"job {short}: cannot read its manifest {path}: {exc}") from exc
    entry = pick_file(manifest.files)
    if entry is None:
        kinds = ", ".join(sorted({e.kind for e in manifest.files})) or "no files"
        raise JobError(f"job {short} has no spliced or result file to play ({path}: {kinds})")
    return project / entry.path


def resolve_target(
    target: str, find_job: Callable[[str], Job], roots: Sequence[Path] | None = None
) -> Path:
    """The file a preview of `target` plays: `target` itself when such a file exists (it wins
    over a job id), else the file of the job it names. With `roots`, a file named directly
    must be inside one of them (symlinks resolved), as for a request's clip."""
    if os.path.exists(target) or os.sep in target:
        path = Path(target).expanduser()
        if roots is not None:
            _check_inside(path, roots)
        if not path.is_file():
            raise AudioError(f"{target}: no such file")
        return path
    try:
        job = find_job(target)
    except JobError as exc:
        raise JobError(f"{target!r} is neither a file nor a known job: {exc.message}") from exc
    return job_file(job)


def _check_inside(path: Path, roots: Sequence[Path]) -> None:
    if not inside_roots(path, roots):
        listed = ", ".join(str(real_path(root)) for root in roots)
        raise AudioError(
            f"{path} is outside the folders previews may read ({listed}); add its folder to "
            "jobs.audio_roots or output.allowed_roots"
        )
