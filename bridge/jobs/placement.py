"""What is uploaded, and where results belong on the timeline. Pure arithmetic.

Source time = take offset + (timeline time - item position) x playrate.

The upload is a window of the clip's visible part, at most the service's 240 s:
- replace: the section and up to `context` seconds of the clip on each side of it;
- extend: up to `context` seconds of the clip before the continuation point;
- cover, swap, variation, stems only: the time selection, or the whole visible part.
When the clip leaves more context than fits, replace splits what fits evenly between
both sides (a side with less gives the rest to the other) and extend takes what is
nearest the continuation point. Request times are measured from the clip's visible
start; `upload_request` measures them from the window's start, as the service wants.

- replace, extend, cover, swap (sound and vocals) and variation: the result covers
  the uploaded clip from its start, so it starts where the upload starts on the
  timeline, and plays at the clip's playrate (the service answers at source speed).
- create: the result starts at the selection start (0 s without a selection),
  at playrate 1.
- stems start where the result they were split from starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from bridge.errors import Issue, RequestError
from bridge.jobs.judging import upload_too_long
from bridge.jobs.model import (
    EXTEND,
    REPLACE,
    STEMS_ONLY,
    ClipPlacement,
    JobRequest,
)
from bridge.jobs.request import CREATE, MAX_UPLOAD_SECONDS, AudioRequest

# A time this close past the upload's end is its end, rounded (seconds).
END_TOLERANCE = 5e-4


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


@dataclass(frozen=True)
class _Focus:
    """What the upload must hold (source seconds), and how much it may add on each side."""

    start: float
    end: float
    before: float
    after: float
    what: str  # the field a too-long focus is blamed on
    description: str


def upload_window(
    request: JobRequest, source_seconds: float, sample_rate: int, context: float | None = None
) -> UploadSpan:
    """The part of the source to upload for `request` (see the module's rules), on the
    source's sample grid. `context` None means as much of the clip as fits."""
    clip = request.clip
    if clip is None:
        raise RequestError([Issue("clip", f"{request.action} needs a clip")])
    visible = upload_span(clip, source_seconds)
    low, high = visible.start, visible.start + visible.duration
    focus = _focus(request, clip, low, high, math.inf if context is None else context)
    length = focus.end - focus.start
    if length > MAX_UPLOAD_SECONDS + 1e-9:
        raise RequestError([Issue(focus.what, upload_too_long(focus.description, length))])
    spare = MAX_UPLOAD_SECONDS - length
    before = min(focus.before, focus.start - low)
    after = min(focus.after, high - focus.end)
    if before + after > spare:
        half = spare / 2
        if before < half:
            after = spare - before
        elif after < half:
            before = spare - after
        else:
            before = after = half
    first = max(round((focus.start - before) * sample_rate), round(low * sample_rate))
    last = min(round((focus.end + after) * sample_rate), round(high * sample_rate))
    last = min(last, first + math.floor(MAX_UPLOAD_SECONDS * sample_rate))
    return UploadSpan(first / sample_rate, (last - first) / sample_rate)


def _focus(
    request: JobRequest, clip: ClipPlacement, low: float, high: float, context: float
) -> _Focus:
    audio, selection = request.audio, request.selection
    if audio.action == REPLACE and audio.replace_start is not None:
        end = audio.replace_end if audio.replace_end is not None else high - low
        what = "selection" if selection is not None else "replaceEnd"
        return _Focus(low + audio.replace_start, low + end, context, context, what, "the section")
    if audio.action == EXTEND and audio.continue_at is not None:
        point = low + audio.continue_at
        return _Focus(point, point, context, 0.0, "continueAt", "the continuation point")
    if selection is not None:
        start = max(low, clip.source_time(selection.start))
        end = min(high, clip.source_time(selection.end))
        return _Focus(start, end, 0.0, 0.0, "selection", "the selection")
    return _Focus(low, high, 0.0, 0.0, "clip", "the clip's visible part")


def upload_request(request: JobRequest, span: UploadSpan | None) -> AudioRequest:
    """The API request with its section times measured from the start of the upload."""
    audio, clip = request.audio, request.clip
    if clip is None or span is None:
        return audio
    shift = span.start - clip.take_offset
    end = math.floor(span.duration * 1e6) / 1e6  # on the microsecond grid the times use
    changes: dict[str, Any] = {
        name: _at_most(round(value - shift, 6), end)
        for name in ("replace_start", "replace_end", "continue_at")
        if (value := getattr(audio, name)) is not None
    }
    return replace(audio, **changes)


def _at_most(value: float, end: float) -> float:
    """`value`, or the upload's `end` when it lies past it by rounding only."""
    return end if end < value <= end + END_TOLERANCE else value


@dataclass(frozen=True)
class Coverage:
    """The length a result must have, in seconds of its own audio: exactly (`exact`), or at
    least (a longer result keeps its tail)."""

    seconds: float
    exact: bool


def result_coverage(request: JobRequest, span: UploadSpan | None) -> Coverage | None:
    """How long a result of `request` must be (None: as long as the service made it).

    replace and stems_only cover the upload exactly. cover, swap and variation cover at
    least the upload. extend covers at least the upload up to its continuation point
    plus the continuation asked for. create is as long as it comes back.
    """
    if span is None or request.clip is None:
        return None
    action = request.action
    if action in (REPLACE, STEMS_ONLY):
        return Coverage(span.duration, exact=True)
    if action == EXTEND:
        sent = upload_request(request, span)
        if sent.continue_at is None or sent.extend_duration is None:
            return None
        return Coverage(sent.continue_at + sent.extend_duration, exact=False)
    return Coverage(span.duration, exact=False)


def splice_section(request: JobRequest, span: UploadSpan | None) -> tuple[float, float | None]:
    """The part of the upload a result replaces in `spliced.wav`, in seconds from the
    upload's start: (start, end) for replace, (continueAt, None) for extend."""
    sent = upload_request(request, span)
    if request.action == REPLACE and sent.replace_start is not None:
        return sent.replace_start, sent.replace_end
    if request.action == EXTEND and sent.continue_at is not None:
        return sent.continue_at, None
    raise ValueError(f"{request.action} results are not spliced")


def splices(request: JobRequest) -> bool:
    """Whether a result of `request` is also written spliced into the original."""
    return request.action in (REPLACE, EXTEND) and request.needs_upload


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
    """Section times must fall inside the upload; the service measures from its start.
    A time past its end by less than half a millisecond (a selection drawn to the item's
    end, rounded) counts as its end: `upload_request` sends it as that."""
    limits = (
        ("continueAt", audio.continue_at),
        ("replaceStart", audio.replace_start),
        ("replaceEnd", audio.replace_end),
    )
    length = round(upload_seconds, 3)
    return [
        Issue(name, f"must be at most {length:g} s, the uploaded clip's length (got {value:g})")
        for name, value in limits
        if value is not None and value > upload_seconds + END_TOLERANCE
    ]
