"""One action, end to end: stage -> upload -> generate -> download -> stems.

Used by `producer-bridge run`. Every task id and audio id is reported as soon as
it is known (and written to run.json), so a failed or interrupted run can be
picked up by hand without paying for the same generation twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import re
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bridge.api.client import ProducerClient
from bridge.api.models import CREATE, AudioRequest
from bridge.api.results import TaskStatus
from bridge.audio import AudioInfo, prepare_upload, probe
from bridge.errors import Issue, RequestError, StagingError
from bridge.staging import Stager

log = logging.getLogger(__name__)


class Progress(Protocol):
    """What a run tells the person watching it."""

    def step(self, step: str, detail: str) -> None: ...
    def task(self, step: str, status: TaskStatus) -> None: ...
    def transfer(self, step: str, done: int, total: int | None) -> None: ...
    def finished(self, step: str, detail: str) -> None: ...


@dataclass(frozen=True)
class RunSpec:
    request: AudioRequest
    out_dir: Path
    clip: Path | None = None
    fmt: str = "wav"
    stems: bool = False
    video: str | None = None


@dataclass
class RunRecord:
    """Everything a run learnt, written to run.json beside its files."""

    action: str
    request: dict[str, Any]
    task_ids: dict[str, str] = field(default_factory=dict)
    audio_ids: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    folder: Path | None = None


def check_against_clip(request: AudioRequest, info: AudioInfo) -> None:
    """Times that must fall inside the uploaded clip; the service measures from its start."""
    length = round(info.duration, 3)
    limits = (
        ("continueAt", request.continue_at),
        ("replaceStart", request.replace_start),
        ("replaceEnd", request.replace_end),
    )
    issues = [
        Issue(name, f"must be at most {length:g} s, the clip's length (got {value:g})")
        for name, value in limits
        if value is not None and value > length
    ]
    if issues:
        raise RequestError(issues)


async def run_action(
    client: ProducerClient, stager: Stager | None, spec: RunSpec, progress: Progress
) -> RunRecord:
    request = spec.request
    record = RunRecord(request.action, _public(request))
    if spec.clip is not None:
        if stager is None:
            raise StagingError("a clip was given but no stager is running")
        audio_id = await _upload(client, stager, spec.clip, request, record, progress)
        request = dataclasses.replace(request, audio_id=audio_id)
    progress.step("generate", request.action)
    task_id = await client.create_audio(request)
    record.task_ids["generate"] = task_id
    clips = await client.wait_clips(task_id, lambda s: progress.task("generate", s))
    progress.finished("generate", f"{len(clips)} clip(s)")
    record.folder = _new_folder(spec.out_dir, request, task_id)
    try:
        for index, clip in enumerate(clips, start=1):
            suffix = "" if len(clips) == 1 else f"_{index}"
            record.audio_ids[f"result{suffix}"] = clip.audio_id
            await _download(client, clip.audio_id, spec.fmt, record, f"result{suffix}", progress)
            if spec.stems:
                await _stems(client, clip.audio_id, record, f"stems{suffix}", progress)
            if spec.video:
                await _video(client, clip.audio_id, spec.video, record, f"video{suffix}", progress)
    finally:
        _write_record(record)
    return record


async def _upload(
    client: ProducerClient,
    stager: Stager,
    clip: Path,
    request: AudioRequest,
    record: RunRecord,
    progress: Progress,
) -> str:
    progress.step("stage", clip.name)
    info = await asyncio.to_thread(probe, clip)
    check_against_clip(request, info)
    with tempfile.TemporaryDirectory(prefix="producer-bridge-") as workdir:
        upload_path = await asyncio.to_thread(prepare_upload, info, Path(workdir))
        staged = stager.stage(upload_path)
        progress.finished("stage", f"{info.duration:.2f} s at {info.sample_rate} Hz")
        try:
            progress.step("upload", clip.name)
            task_id = await client.upload(staged.url)
            record.task_ids["upload"] = task_id
            uploaded = await client.wait_upload(task_id, lambda s: progress.task("upload", s))
        finally:
            stager.unstage(staged)
    record.audio_ids["source"] = uploaded.audio_id
    progress.finished("upload", f"audioId {uploaded.audio_id}")
    return uploaded.audio_id


async def _download(
    client: ProducerClient,
    audio_id: str,
    fmt: str,
    record: RunRecord,
    name: str,
    progress: Progress,
) -> None:
    step = f"download {name}"
    progress.step(step, f"{fmt} of audioId {audio_id}")
    task_id = await client.download(audio_id, fmt)
    record.task_ids[step] = task_id
    link = await client.wait_download(task_id, lambda s: progress.task(step, s))
    progress.finished(step, "link ready")
    await _fetch(client, link.url, record, f"{name}.{fmt}", progress)


async def _stems(
    client: ProducerClient, audio_id: str, record: RunRecord, folder: str, progress: Progress
) -> None:
    step = folder
    progress.step(step, f"audioId {audio_id}")
    task_id = await client.stems(audio_id)
    record.task_ids[step] = task_id
    links = await client.wait_stems(task_id, lambda s: progress.task(step, s))
    progress.finished(step, f"{len(links)} stems ready")
    await asyncio.gather(
        *(
            _fetch(client, url, record, f"{folder}/{stem}.wav", progress)
            for stem, url in links.items()
        )
    )


async def _video(
    client: ProducerClient,
    audio_id: str,
    preset: str,
    record: RunRecord,
    name: str,
    progress: Progress,
) -> None:
    progress.step(name, preset)
    task_id = await client.download_video(audio_id, preset)
    record.task_ids[name] = task_id
    link = await client.wait_video(task_id, lambda s: progress.task(name, s))
    progress.finished(name, "link ready")
    await _fetch(client, link.url, record, f"{name}.mp4", progress)


async def _fetch(
    client: ProducerClient, url: str, record: RunRecord, relative: str, progress: Progress
) -> None:
    assert record.folder is not None
    dest = record.folder / relative
    step = f"fetch {relative}"
    progress.step(step, relative)
    await client.fetch(url, dest, lambda done, total: progress.transfer(step, done, total))
    record.files.append(str(dest))
    progress.finished(step, str(dest))


def _new_folder(out_dir: Path, request: AudioRequest, task_id: str) -> Path:
    """`<out>/<YYYYMMDD-HHMMSS>_<action>_<title slug>_<task id start>`, never reused."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    parts = [stamp, request.action, slug(request.title or ""), task_id[:8]]
    folder = out_dir / "_".join(part for part in parts if part)
    folder.mkdir(parents=True, exist_ok=False)
    return folder


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe form of a title; keeps letters of every script (Chinese too)."""
    normal = unicodedata.normalize("NFKC", text)
    cleaned = re.sub(r"[^\w]+", "-", normal, flags=re.UNICODE).strip("-_").lower()
    return cleaned[:limit].strip("-")


def _public(request: AudioRequest) -> dict[str, Any]:
    body = request.to_body()
    if request.action == CREATE:
        body.pop("audioId", None)
    return body


def _write_record(record: RunRecord) -> None:
    if record.folder is None:
        return
    data = {
        "action": record.action,
        "request": record.request,
        "taskIds": record.task_ids,
        "audioIds": record.audio_ids,
        "files": [os.path.relpath(path, record.folder) for path in record.files],
    }
    target = record.folder / "run.json"
    temporary = target.with_name(".run.json.part")
    temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, target)
