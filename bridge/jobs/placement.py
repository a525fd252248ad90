"""Where results belong on the timeline. Pure arithmetic on the request.

Source time = take offset + (timeline time - item position) x playrate.

- replace, extend, cover, swap (sound and vocals) and variation: the result covers
  the uploaded clip from its start, so it starts where the upload starts on the
  timeline, and plays at the clip's playrate (the service answers at source speed).
- create: the result starts at the selection start (0 s without a selection),
  at playrate 1.
- stems start where the result they were split from starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.api.models import CREATE, AudioRequest
from bridge.errors import Issue, RequestError
from bridge.jobs.model import ClipPlacement, JobRequest


@dataclass(frozen=True)
class UploadSpan:
    """The part of the source file that is uploaded, in source seconds."""

    start: float
    duration: float


@dataclass(frozen=True)
class Placement:
    seconds: float
    playrate: float

    def samples(self, sample_rate: int) -> int:
        """The position in samples at `sample_rate`, rounded to the nearest sample."""
        return round(self.seconds * sample_rate)


def upload_span(clip: ClipPlacement, source_seconds: float) -> UploadSpan:
    """The clip's visible part of a source `source_seconds` long."""
    if clip.take_offset >= source_seconds:
        raise RequestError(
            [
                Issue(
                    "clip.takeOffset",
                    f"{clip.take_offset:g} s is past the end of {clip.path} ({source_seconds:g} s)",
                )
            ]
        )
    available = source_seconds - clip.take_offset
    if clip.length is None:
        return UploadSpan(clip.take_offset, available)
    # A take may be longer on the timeline than its source (REAPER loops it); the
    # service can only be given what the source holds.
    return UploadSpan(clip.take_offset, min(clip.length * clip.playrate, available))


def result_placement(request: JobRequest, span: UploadSpan | None) -> Placement:
    """Where the results of `request` start on the timeline."""
    clip = request.clip
    if request.action == CREATE or clip is None:
        start = request.selection.start if request.selection else 0.0
        return Placement(start, 1.0)
    upload_start = span.start if span is not None else clip.take_offset
    return Placement(clip.timeline_time(upload_start), clip.playrate)


def timeline_length(frames: int, sample_rate: int, playrate: float) -> float:
    """Seconds a file of `frames` covers on the timeline when played at `playrate`."""
    return frames / sample_rate / playrate


def time_issues(audio: AudioRequest, upload_seconds: float) -> list[Issue]:
    """Section times must fall inside the upload; the service measures from its start."""
    length = round(upload_seconds, 3)
    limits = (
        ("continueAt", audio.continue_at),
        ("replaceStart", audio.replace_start),
        ("replaceEnd", audio.replace_end),
    )
    return [
        Issue(name, f"must be at most {length:g} s, the uploaded clip's length (got {value:g})")
        for name, value in limits
        if value is not None and value > length + 1e-6
    ]
