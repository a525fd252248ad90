"""Ableton Live through our own remote script: a trigger reads the clip in view and the loop
brace and maps them (bridge.ableton.window); a finished job's results go back onto Live's
timeline at the beat they belong to, or stay in their folder when Live cannot take them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, TypeGuard

from pydantic import BaseModel, ConfigDict, Field

from bridge.ableton.protocol import Placed
from bridge.ableton.script_link import RemoteScriptLink
from bridge.ableton.window import LiveWindow, live_window
from bridge.daemon.context import Context
from bridge.errors import AbletonError, BridgeError
from bridge.files import write_new_in
from bridge.jobs.state import Job
from bridge.project.manifest import FileEntry, Manifest

log = logging.getLogger(__name__)

# A read is known again by where its window starts on the timeline and in the file (the
# request's itemPosition and takeOffset): the path may come back spelt otherwise.
_Key = tuple[float, float]


LIVE_RECORD = "live.json"
Where = Literal["arrangement", "folder"]


class PlacedClipDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="The result file Live was given (absolute).")
    track: str = Field(description="The name of the new track it went on.")
    beat: float = Field(description="Its position in the Arrangement, in beats.")


class LiveRecordDocument(BaseModel):
    """`live.json`, written beside a job's manifest once Live was asked to place its results
    (the manifest is written before, and never replaced)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="producer-bridge: where a job's results went in Ableton Live, version 1",
        json_schema_extra={"$id": "https://producer-bridge.invalid/schemas/live-1.json"},
    )

    jobId: str = Field(min_length=1)
    placed: Where = Field(
        description="arrangement: on new tracks of Live's timeline; folder: left in the "
        "results folder (Live older than 12.0.5, a Session clip, or Live did not take them)."
    )
    message: str = Field(description="Why, in words.")
    clips: list[PlacedClipDocument] = Field(description="What Live was asked to place.")


@dataclass(frozen=True)
class Placement:
    """What became of a job's results in Live: "arrangement" or "folder", and why."""

    placed: Where
    message: str


@dataclass(frozen=True)
class _Read:
    window: LiveWindow
    track: int  # the selected track's index: new tracks go right after it


# Seconds between two hellos: Live learns where to send its controller's MIDI, and a Live
# started after the daemon hears of it.
HELLO_INTERVAL = 2.0
# Reads kept for jobs still running: a job that fails is never placed, so the oldest go.
KEPT_READS = 64


class ScriptInput:
    def __init__(self, link: RemoteScriptLink) -> None:
        self._link = link
        link.on_news = self._news
        # What each trigger read, by the clip it put in its request (kept until placed).
        self._reads: dict[_Key, _Read] = {}
        # Where MIDI from the controller chosen as ProducerBridge's Input in Live goes.
        self.midi: Callable[[list[int]], None] | None = None

    async def keep_in_touch(self, interval: float = HELLO_INTERVAL) -> None:
        while True:
            with contextlib.suppress(AbletonError):
                await self._link.hello()
            await asyncio.sleep(interval)

    def _news(self, message: dict[str, Any]) -> None:
        data = message.get("bytes")
        if message.get("op") != "midi" or not _is_midi(data):
            log.debug("ignored news from Live: %r", message)
            return
        if self.midi is not None:
            self.midi(list(data))

    async def read(self, context: Context) -> Context:
        snapshot = await self._link.read()
        window = live_window(snapshot)
        track = snapshot.track.index if snapshot.track is not None else -1
        self._reads[(window.timeline_start, window.source_start)] = _Read(window, track)
        while len(self._reads) > KEPT_READS:
            del self._reads[next(iter(self._reads))]
        return replace(context, clip=window.clip(), selection=window.selection())

    async def place(self, job: Job) -> Placement | None:
        """Put a finished job's results into Live; None for a job Live did not start."""
        clip = job.request.clip
        if clip is None or not job.facts.manifest:
            return None
        read = self._reads.pop((clip.item_position, clip.take_offset), None)
        if read is None:
            return None
        manifest_path = Path(job.request.project) / job.facts.manifest
        placement, clips = await self._place(job, read, manifest_path)
        record = LiveRecordDocument(
            jobId=job.id,
            placed=placement.placed,
            message=placement.message,
            clips=[
                PlacedClipDocument(**{k: c[k] for k in ("path", "track", "beat")}) for c in clips
            ],
        )
        await asyncio.to_thread(_write_record, manifest_path.parent, record)
        return placement

    async def _place(
        self, job: Job, read: _Read, manifest_path: Path
    ) -> tuple[Placement, list[dict[str, Any]]]:
        folder = str(manifest_path.parent)
        if read.window.start_beat is None:
            message = f"a Session clip has no place on the timeline: {folder}"
            return Placement("folder", message), []
        clips: list[dict[str, Any]] = []
        try:
            manifest = await asyncio.to_thread(_manifest, manifest_path)
            found = [_clip(read.window, manifest, entry) for entry in manifest.files]
            clips = [c for c in found if c is not None]
            placed: Placed = await self._link.place(folder, clips, read.track)
        except BridgeError as exc:
            log.warning("job %s: results not placed in Live: %s", job.short_id, exc.message)
            return Placement("folder", f"{exc.message}; the results are in {folder}"), []
        log.info("job %s: %s in Live (%s)", job.short_id, placed.placed, placed.message)
        return Placement(placed.placed, placed.message), clips


def _is_midi(data: object) -> TypeGuard[list[int]]:
    return (
        isinstance(data, list)
        and 1 <= len(data) <= 3
        and all(isinstance(b, int) and 0 <= b <= 255 for b in data)
    )


def _write_record(folder: Path, record: LiveRecordDocument) -> None:
    text = json.dumps(record.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    try:
        write_new_in(folder.resolve() / LIVE_RECORD, text.encode("utf-8"))
    except (OSError, BridgeError) as exc:
        log.warning("cannot write %s in %s: %s", LIVE_RECORD, folder, exc)


def _manifest(path: Path) -> Manifest:
    try:
        return Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise AbletonError(f"cannot read {path}: {exc}") from exc


def _clip(window: LiveWindow, manifest: Manifest, entry: FileEntry) -> dict[str, Any] | None:
    """One result for Live: its file, its track's name, its beat and how it plays in time."""
    beat = window.beat_of(entry.position_seconds)
    if entry.kind == "spliced" or beat is None:
        return None  # the original with the result inside: the result itself is placed
    name = manifest.action if entry.kind == "result" else f"{manifest.action} {entry.kind}"
    if entry.clip > 1:
        name = f"{name} {entry.clip}"
    straight = not window.warped and abs(window.playrate - 1.0) < 1e-9
    return {
        "path": str(Path(manifest.project_folder) / entry.path),
        "track": name,
        "beat": beat,
        "warping": not straight,
        "markers": [[m.beat, m.seconds] for m in window.markers],
    }
