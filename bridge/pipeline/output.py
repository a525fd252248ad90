"""The write step: a finished job's files into the project, then its manifest and index line.

Resumable at any point: the results folder is named (and journaled, committed) before it
is made, every file appears under its final name only once complete (temporary name,
fsync, rename), and a file already under its final name in the job's own folder is
one this job finished before it was interrupted, so it is kept, not written again. So
what each file holds and the manifest's name are only handed to the journal (`note`): a
crash that loses them leaves files this step finds and keeps when it runs again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.audio.clips import holding_subtype, probe, read_frames
from bridge.errors import AudioError, ProjectError
from bridge.files import Folder, link_refused, remove_temporaries, translate_os_error
from bridge.jobs.model import STEMS_ONLY
from bridge.jobs.placement import (
    UploadSpan,
    result_coverage,
    result_placement,
    splice_section,
    splices,
    upload_request,
)
from bridge.jobs.state import Job
from bridge.project import (
    MANIFEST_NAME,
    FileEntry,
    Manifest,
    WavShape,
    append_index,
    child,
    index_entry,
    read_shape,
    resolve_project,
    safe_component,
    slug,
    write_manifest,
    write_project_wav,
)
from bridge.project.wavout import Fit, SplicePlan, write_spliced

# Called with fact updates to journal, e.g. {"written": {...}}.
RecordFacts = Callable[[dict[str, Any]], Job]


@dataclass(frozen=True)
class Splicing:
    """How replace and extend results are spliced into the original (`spliced.wav`)."""

    crossfade: float = 0.02  # seconds of each equal-power crossfade
    match_loudness: bool = False  # turn the new part to the original's loudness (BS.1770)


@dataclass(frozen=True)
class PlannedFile:
    key: str  # work-file key: "result:1", "stems:1:vocals"
    relative: tuple[str, ...]  # inside the job's results folder
    kind: str
    clip: int


def folder_name(job: Job) -> str:
    """`<YYYYMMDD-HHMMSS>_<action>_<title slug>_<short id>`, from the job's creation time."""
    stamp = dt.datetime.fromtimestamp(job.created_at).strftime("%Y%m%d-%H%M%S")
    title = job.request.audio.title or ""
    parts = [stamp, job.request.action, slug(title), job.short_id]
    return "_".join(part for part in parts if part)


def planned_files(job: Job, *, splice: bool = False) -> Iterator[PlannedFile]:
    several = len(job.facts.clips) > 1
    spliced = splice and splices(job.request) and job.facts.span is not None
    for index in range(1, len(job.facts.clips) + 1):
        suffix = f"_{index}" if several else ""
        if job.request.action != STEMS_ONLY:
            yield PlannedFile(f"result:{index}", (f"result{suffix}.wav",), "result", index)
        if spliced:
            yield PlannedFile(f"result:{index}", (f"spliced{suffix}.wav",), "spliced", index)
        prefix = f"stems:{index}:"
        for key in sorted(k for k in job.facts.work if k.startswith(prefix)):
            stem = safe_component(key.removeprefix(prefix), "stem name from the API result")
            yield PlannedFile(key, (f"stems{suffix}", f"{stem}.wav"), stem, index)


def write_results(
    job: Job,
    *,
    allowed_roots: Sequence[Path],
    results_folder: str,
    record: RecordFacts,
    splicing: Splicing | None = None,
    note: RecordFacts | None = None,
) -> Job:
    """Write every file, the manifest and the index line; return the job as journaled.
    With `splicing`, replace and extend results are also spliced into the original.
    `record` journals the folder's name and returns once it is committed; `note` (default:
    `record`) journals the facts learnt after it, without waiting for their commit."""
    note = record if note is None else note
    project = resolve_project(job.request.project, allowed_roots)
    # Every name is checked before anything is written.
    plan = list(planned_files(job, splice=splicing is not None))
    if job.facts.folder is None:
        name = safe_component(folder_name(job), "results folder name")
        job = record({"folder": f"{safe_component(results_folder, 'results folder')}/{name}"})
    assert job.facts.folder is not None
    folder = child(project, *job.facts.folder.split("/"), what="results folder")
    _make_folder(folder)
    remove_temporaries(folder)
    for planned in plan:
        relative = "/".join((job.facts.folder, *planned.relative))
        if relative in job.facts.written:
            continue
        dest = child(folder, *planned.relative, what="result file name")
        _make_folder(dest.parent)
        shape = _write_one(job, planned, dest, splicing or Splicing())
        job = note({"written": {relative: _shape_json(planned, shape)}})
    manifest = _manifest(job, project)
    if not _present(folder / MANIFEST_NAME):
        write_manifest(folder, manifest)
    results_root = folder.parent
    append_index(
        results_root,
        index_entry(
            job_id=job.id,
            finished_at=_iso(job.updated_at),
            action=job.request.action,
            title=job.request.audio.title,
            manifest=f"{folder.name}/{MANIFEST_NAME}",
        ),
    )
    return note({"manifest": f"{job.facts.folder}/{MANIFEST_NAME}"})


def _make_folder(folder: Path) -> None:
    # Made through a Folder: a link planted at any folder on the way is refused.
    try:
        Folder.open(folder, create=True).close()
    except OSError as exc:
        raise translate_os_error(exc, folder.parent) from exc


def _present(path: Path) -> bool:
    """Whether a finished file is at `path`; ProjectError if a link was put there."""
    if path.is_symlink():
        raise link_refused(path)
    return path.exists()


def _write_one(job: Job, planned: PlannedFile, dest: Path, splicing: Splicing) -> WavShape:
    if _present(dest):
        # Only this job writes into its own folder, and only by rename of a finished
        # file: one found here was completed before an interruption.
        return read_shape(dest)
    source = job.facts.work.get(planned.key)
    if source is None or not Path(source).is_file():
        raise ProjectError(
            f"the downloaded file for {planned.key} is missing from the work folder; "
            f"retry the job to fetch it again: producer-bridge jobs retry {job.short_id}"
        )
    request, subtype = job.request, job.request.options.subtype
    span = UploadSpan(**job.facts.span) if job.facts.span else None
    if planned.kind == "spliced":
        assert span is not None  # planned_files plans a spliced file only with a span
        return _write_spliced(job, Path(source), dest, span, splicing)
    fit = _fit(job, planned, span)
    return write_project_wav(
        Path(source), dest, sample_rate=request.sample_rate, subtype=subtype, fit=fit
    )


def _fit(job: Job, planned: PlannedFile, span: UploadSpan | None) -> Fit | None:
    """Results as long as the span they cover; stems exactly as long as their result."""
    if planned.kind == "result" or job.request.action == STEMS_ONLY:
        coverage = result_coverage(job.request, span)
        return None if coverage is None else Fit(seconds=coverage.seconds, exact=coverage.exact)
    for shape in job.facts.written.values():
        if shape["kind"] == "result" and shape["clip"] == planned.clip:
            return Fit(frames=shape["frames"])
    return None


def _write_spliced(
    job: Job, result: Path, dest: Path, span: UploadSpan, splicing: Splicing
) -> WavShape:
    request, fade = job.request, splicing.crossfade
    assert request.clip is not None
    start, end = splice_section(request, span)
    try:
        info = probe(Path(request.clip.path))
        first = round(span.start * info.sample_rate)
        # An extend crossfades into what the original holds after the continuation point.
        frames = round((span.duration + (fade if end is None else 0.0)) * info.sample_rate)
        original = read_frames(info, first, frames)
    except AudioError as exc:
        raise ProjectError(
            f"cannot read the original clip to splice the result into: {exc}; put it back "
            f"and retry the job, or set audio.splice = false"
        ) from exc
    return write_spliced(
        original,
        info.sample_rate,
        result,
        dest,
        plan=SplicePlan(start, end, fade, splicing.match_loudness),
        sample_rate=request.sample_rate,
        subtype=holding_subtype(request.options.subtype, info.subtype),
    )


def _shape_json(planned: PlannedFile, shape: WavShape) -> dict[str, Any]:
    return {
        "kind": planned.kind,
        "clip": planned.clip,
        "frames": shape.frames,
        "sampleRate": shape.sample_rate,
        "channels": shape.channels,
    }


def _manifest(job: Job, project: Path) -> Manifest:
    request = job.request
    span = UploadSpan(**job.facts.span) if job.facts.span else None
    placement = result_placement(request, span)
    entries = []
    for path, shape in job.facts.written.items():
        rate = shape["sampleRate"]
        clip = job.facts.clips[shape["clip"] - 1]
        entries.append(
            FileEntry(
                path=path,
                kind=shape["kind"],
                clip=shape["clip"],
                audio_id=clip.get("audioId"),
                position_seconds=placement.seconds,
                position_samples=placement.samples(rate),
                length_samples=shape["frames"],
                sample_rate=rate,
                channels=shape["channels"],
                playrate=placement.playrate,
            )
        )
    audio = request.audio
    return Manifest(
        job_id=job.id,
        created_at=_iso(job.created_at),
        action=audio.action,
        model=audio.model,
        seed=audio.seed,
        title=audio.title,
        request=upload_request(request, span).to_json(),  # the times as sent
        project_folder=str(project),
        project_sample_rate=request.sample_rate,
        clip=request.clip.to_json() if request.clip else None,
        selection=request.selection.to_json() if request.selection else None,
        task_ids=dict(job.facts.tasks),
        audio_ids=dict(job.facts.audio_ids),
        folder=job.facts.folder or "",
        files=tuple(entries),
        import_as=request.options.import_as,
        credits=job.facts.spent(),
    )


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")
