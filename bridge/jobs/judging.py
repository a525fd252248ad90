"""Judging a job request before it becomes a job: every problem, each naming its field,
said in the terms of whoever made the request (the timeline's, for a selection). Pure; no
files are opened here (what only the world can tell is judged in `pipeline.admission`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Final

from bridge.errors import Issue, RequestError
from bridge.jobs.model import (
    EXTEND,
    FETCH_FORMATS,
    IMPORT_TARGETS,
    MAX_SECONDS,
    PLAYRATES,
    REPLACE,
    SAMPLE_RATES,
    STEMS_ONLY,
    SUBTYPES,
    ClipPlacement,
    JobRequest,
    Selection,
    with_api_times,
)
from bridge.jobs.request import CREATE, MAX_UPLOAD_SECONDS
from bridge.jobs.rules import audio_issues


def sample_rate_problem(rate: object) -> str:
    """What is wrong with a project sample rate that is not one of SAMPLE_RATES."""
    return f"must be one of {', '.join(map(str, SAMPLE_RATES))} (got {rate})"


def request_issues(request: JobRequest, known_models: Sequence[str]) -> list[Issue]:
    """Every problem with a job request, each naming its field. Section times the
    selection implies count as given (see `with_api_times`)."""
    placement = _clip_issues(request.clip, request.selection)
    audio = request.audio if placement else with_api_times(request).audio
    if audio.action == STEMS_ONLY:
        issues = [] if request.options.stems else [Issue("options.stems", "must be true")]
    else:
        issues = audio_issues(audio, known_models, needs_audio_id=False)
    if request.audio.action != CREATE and request.clip is None and not request.audio.audio_id:
        issues.append(Issue("clip", f"{request.action} needs a clip or an audioId"))
    if request.audio.action == CREATE and request.clip is not None:
        issues.append(Issue("clip", "create_music takes no clip"))
    if not request.project:
        issues.append(Issue("project", "the project folder is required"))
    if request.sample_rate is not None and request.sample_rate not in SAMPLE_RATES:
        issues.append(Issue("sampleRate", sample_rate_problem(request.sample_rate)))
    if any(issue.field == "selection" for issue in placement):
        # The section's API times come from the selection: its own issue says it all.
        issues = [issue for issue in issues if issue.field not in _FROM_SELECTION]
    issues += placement or window_issues(replace(request, audio=audio))
    issues += time_range_issues(request)
    if request.options.subtype not in SUBTYPES:
        issues.append(Issue("subtype", f"must be one of {', '.join(SUBTYPES)}"))
    if request.options.fetch_format not in FETCH_FORMATS:
        issues.append(Issue("format", f"must be one of {', '.join(FETCH_FORMATS)}"))
    if request.options.import_as not in IMPORT_TARGETS:
        issues.append(Issue("importAs", f"must be one of {', '.join(IMPORT_TARGETS)}"))
    return issues


# API fields a selection becomes (see `with_api_times`).
_FROM_SELECTION: Final = ("replaceStart", "replaceEnd", "continueAt")


def _clip_issues(clip: ClipPlacement | None, selection: Selection | None) -> list[Issue]:
    issues: list[Issue] = []
    if selection is not None and not selection.start < selection.end:
        issues.append(Issue("selection", _backwards(selection)))
    if clip is None:
        return issues
    if not (math.isfinite(clip.playrate) and clip.playrate > 0):
        issues.append(
            Issue("clip.playrate", "must be above 0; a reversed take cannot be mapped: glue it")
        )
    elif not PLAYRATES[0] <= clip.playrate <= PLAYRATES[1]:
        issues.append(
            Issue(
                "clip.playrate",
                f"must be between {PLAYRATES[0]:g} and {PLAYRATES[1]:g} (got {clip.playrate:g}): "
                "render the take at its speed first",
            )
        )
    if clip.take_offset < 0:
        issues.append(Issue("clip.takeOffset", "must be 0 or more"))
    if clip.length is not None and clip.length <= 0:
        issues.append(Issue("clip.length", "must be above 0"))
    if selection is not None and not issues:
        issues += selection_outside(selection, clip.item_position, clip.length)
    return issues


def _backwards(selection: Selection) -> str:
    if selection.start == selection.end:
        return f"the selection is empty: it starts and ends at {selection.start:g} s"
    return (
        f"{selection.start:g}..{selection.end:g} s ends before it starts: "
        "its start must come before its end"
    )


def selection_outside(selection: Selection, item_start: float, length: float | None) -> list[Issue]:
    """The selection said in the timeline's terms when it is not inside the item (whose
    length may not be known before its file is read)."""
    span = f"{selection.start:g}..{selection.end:g} s"
    end = None if length is None else item_start + length
    before = selection.start < item_start - 1e-9
    after = end is not None and selection.end > end + 1e-9
    if before and after:
        where = f"is not inside the item, which lies at {item_start:g}..{end:g} s on the timeline"
    elif before:
        where = f"starts before the item, which starts at {item_start:g} s on the timeline"
    elif after:
        where = f"ends after the item, which ends at {end:g} s on the timeline"
    else:
        return []
    return [Issue("selection", f"{span} {where}: select inside the item")]


def time_range_issues(request: JobRequest) -> list[Issue]:
    """Every time the request names is finite and within a day (either way: lower bounds
    are each field's own rule), so that nothing paid for fails when results are placed."""
    audio, clip, selection = request.audio, request.clip, request.selection
    times: list[tuple[str, float | None]] = [
        ("continueAt", audio.continue_at),
        ("extendDuration", audio.extend_duration),
        ("replaceStart", audio.replace_start),
        ("replaceEnd", audio.replace_end),
    ]
    for index, sound in enumerate(audio.sounds):
        times += [
            (f"sounds[{index}].timeStart", sound.time_start),
            (f"sounds[{index}].timeEnd", sound.time_end),
        ]
    if selection is not None:
        times += [("selection.start", selection.start), ("selection.end", selection.end)]
    if clip is not None:
        times += [
            ("clip.itemPosition", clip.item_position),
            ("clip.takeOffset", clip.take_offset),
            ("clip.length", clip.length),
        ]
    return [
        Issue(name, f"must be within a day, at most {MAX_SECONDS:g} s (got {value:g} s)")
        for name, value in times
        if value is not None and not (math.isfinite(value) and abs(value) <= MAX_SECONDS)
    ]


def window_issues(request: JobRequest) -> list[Issue]:
    """What the upload must hold is longer than the service takes, when the request alone
    shows it (without a selection, only the source file tells: checked when it is cut)."""
    clip, audio, selection = request.clip, request.audio, request.selection
    if clip is None or audio.action == EXTEND:
        return []
    if audio.action == REPLACE:
        if audio.replace_start is None or audio.replace_end is None:
            return []
        seconds = audio.replace_end - audio.replace_start
        what = "selection" if selection else "replaceEnd"
        description = "the section"
    elif selection is not None:
        seconds = (selection.end - selection.start) * clip.playrate
        what, description = "selection", "the selection"
    else:
        return []
    if seconds > MAX_UPLOAD_SECONDS + 1e-9:
        return [Issue(what, upload_too_long(description, seconds))]
    return []


def upload_too_long(description: str, seconds: float) -> str:
    return (
        f"{description} holds {seconds:.1f} s of audio; the service takes at most "
        f"{MAX_UPLOAD_SECONDS:g} s: select at most {MAX_UPLOAD_SECONDS:g} s "
        "(at the item's playrate), or split the item"
    )


def validate_request(request: JobRequest, known_models: Sequence[str]) -> JobRequest:
    """The request with its API times filled in, or RequestError listing every issue."""
    issues = request_issues(request, known_models)
    if issues:
        raise RequestError(issues)
    return with_api_times(request)
