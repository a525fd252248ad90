"""What a job asks for: the API request, the clip on the timeline, where results go.

Pure data and validation; no files are opened here. Times named `*_position`,
`start`, `end` are project-timeline seconds; `take_offset` is seconds into the
source file; times inside the API request are seconds from the start of the
uploaded audio (PRODUCER_API.md: the bridge assumes so).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, ValidationError, field_serializer

from bridge.errors import RequestError
from bridge.errors.describe import describe_errors
from bridge.jobs.names import FETCH_FORMATS as FETCH_FORMATS
from bridge.jobs.names import JOB_ACTIONS as JOB_ACTIONS
from bridge.jobs.names import STEMS_ONLY as STEMS_ONLY
from bridge.jobs.names import FetchFormat as FetchFormat
from bridge.jobs.names import JobAction as JobAction
from bridge.jobs.request import (
    CREATE,
    AudioDocument,
    AudioRequest,
)

REPLACE: Final = "replace_music"
EXTEND: Final = "extend_music"
SUBTYPES: Final = ("PCM_16", "PCM_24", "FLOAT")
# The sample rates DAWs run projects at; any other (12345) is a typo, not a project.
SampleRate = Literal[
    8000, 11025, 16000, 22050, 32000, 44100, 48000, 88200, 96000, 176400, 192000, 352800, 384000
]
SAMPLE_RATES: Final[tuple[int, ...]] = get_args(SampleRate)
# Where the importer puts results: new takes on the source item, new tracks, or nowhere.
ImportTarget = Literal["takes", "tracks", "none"]
IMPORT_TARGETS: Final[tuple[str, ...]] = get_args(ImportTarget)
# The longest time a request may name, in seconds: a day. Beyond it is no song and no
# project, and the arithmetic that places results would no longer be exact.
MAX_SECONDS: Final = 86400.0
# How much faster or slower than its source a take may play and still be placed exactly.
PLAYRATES: Final = (0.01, 100.0)


@dataclass(frozen=True)
class ClipPlacement:
    """A clip as the DAW places it: a window onto a source file."""

    path: str
    item_position: float = 0.0
    take_offset: float = 0.0
    playrate: float = 1.0
    length: float | None = None  # timeline seconds; None = to the end of the source

    def source_time(self, timeline: float) -> float:
        """Source time = take offset + (timeline time - item position) x playrate."""
        return self.take_offset + (timeline - self.item_position) * self.playrate

    def timeline_time(self, source: float) -> float:
        return self.item_position + (source - self.take_offset) / self.playrate

    def to_json(self) -> dict[str, Any]:
        return self.document().model_dump(mode="json")

    def document(self) -> ClipDocument:
        return ClipDocument(
            path=self.path,
            itemPosition=self.item_position,
            takeOffset=self.take_offset,
            playrate=self.playrate,
            length=self.length,
        )


@dataclass(frozen=True)
class Selection:
    start: float
    end: float

    def to_json(self) -> dict[str, float]:
        return self.document().model_dump(mode="json")

    def document(self) -> SelectionDocument:
        return SelectionDocument(start=self.start, end=self.end)


@dataclass(frozen=True)
class JobOptions:
    stems: bool = False
    fetch_format: str = "wav"  # what the service is asked for before conversion
    subtype: str = "PCM_24"  # what the project gets
    import_as: str = "takes"  # a hint for the DAW's importer, kept in the manifest


@dataclass(frozen=True)
class JobRequest:
    """Everything one job needs, validated before it is journaled."""

    audio: AudioRequest
    project: str  # absolute project folder
    sample_rate: int | None = None  # the project's rate; None = keep the result's
    clip: ClipPlacement | None = None
    selection: Selection | None = None
    options: JobOptions = field(default_factory=JobOptions)
    # Where the request came from when that must be found again: a dropped file's path.
    source: str | None = None
    # The provider and contract the job was judged for, so that it resumes on them.
    provider: str | None = None
    contract: str | None = None

    @property
    def action(self) -> str:
        return self.audio.action

    @property
    def needs_upload(self) -> bool:
        return self.audio.action != CREATE and self.audio.audio_id is None

    def to_json(self) -> dict[str, Any]:
        """The request as the journal keeps it (`from_json` reads it back)."""
        return self.document().model_dump(mode="json")

    def document(self) -> RequestDocument:
        """The request's document, built once: the request never changes, and the journal
        stores it with every event of the job."""
        return self._document

    @functools.cached_property
    def _document(self) -> RequestDocument:
        options = self.options
        return RequestDocument(
            request=self.audio.document(),
            project=ProjectDocument(folder=self.project, sampleRate=self.sample_rate),
            clip=self.clip.document() if self.clip else None,
            selection=self.selection.document() if self.selection else None,
            options=OptionsDocument(
                stems=options.stems,
                fetchFormat=options.fetch_format,
                subtype=options.subtype,
                importAs=options.import_as,
            ),
            source=self.source,
            provider=self.provider,
            contract=self.contract,
        )

    @classmethod
    def from_json(cls, data: Any) -> JobRequest:
        """Read back what `to_json` wrote (the journal's own records); RequestError naming
        each field it cannot read."""
        try:
            doc = RequestDocument.model_validate(data)
        except ValidationError as exc:
            raise RequestError(describe_errors(exc, RequestDocument, {})) from exc
        return cls.from_document(doc)

    @classmethod
    def from_document(cls, doc: RequestDocument) -> JobRequest:
        clip, selection, options = doc.clip, doc.selection, doc.options
        return cls(
            audio=AudioRequest.from_document(doc.request),
            project=doc.project.folder,
            sample_rate=doc.project.sampleRate,
            clip=ClipPlacement(
                clip.path, clip.itemPosition, clip.takeOffset, clip.playrate, clip.length
            )
            if clip
            else None,
            selection=Selection(selection.start, selection.end) if selection else None,
            options=JobOptions(
                options.stems, options.fetchFormat, options.subtype, options.importAs
            ),
            source=doc.source,
            provider=doc.provider,
            contract=doc.contract,
        )


class _Document(BaseModel):
    # As strict as the request that was journaled; keys a later version adds are ignored.
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class ProjectDocument(_Document):
    folder: str
    sampleRate: int | None


class ClipDocument(_Document):
    path: str
    itemPosition: float
    takeOffset: float
    playrate: float
    length: float | None


class SelectionDocument(_Document):
    start: float
    end: float


class OptionsDocument(_Document):
    stems: bool
    fetchFormat: str
    subtype: str
    importAs: str = "takes"  # journals from before import targets


class RequestDocument(_Document):
    """`JobRequest.to_json`'s document: a request as the journal keeps it."""

    request: AudioDocument
    project: ProjectDocument
    clip: ClipDocument | None
    selection: SelectionDocument | None
    options: OptionsDocument
    source: str | None = None
    provider: str | None = None  # journals from before providers: the seed's, mountsea
    contract: str | None = None

    @field_serializer("request")
    def _request(self, request: AudioDocument) -> dict[str, Any]:
        return request.model_dump(mode="json", exclude_none=True)  # as AudioRequest writes it


def with_api_times(request: JobRequest) -> JobRequest:
    """Fill the API's section times from the timeline selection when they are not set.

    replace_music: the selection is the section to regenerate. extend_music: the
    continuation starts at the selection start, or at the clip's end without one.
    """
    clip, selection, audio = request.clip, request.selection, request.audio
    if clip is None:
        return request
    if audio.action == REPLACE and selection and audio.replace_start is None:
        audio = replace(
            audio,
            replace_start=_upload_time(clip, selection.start),
            replace_end=_upload_time(clip, selection.end),
        )
    if audio.action == EXTEND and audio.continue_at is None:
        if selection is not None:
            audio = replace(audio, continue_at=_upload_time(clip, selection.start))
        elif clip.length is not None:
            audio = replace(audio, continue_at=round(clip.length * clip.playrate, 6))
    return replace(request, audio=audio)


def _upload_time(clip: ClipPlacement, timeline: float) -> float:
    # The upload starts at the item's visible start (take offset in the source).
    return round((timeline - clip.item_position) * clip.playrate, 6)
