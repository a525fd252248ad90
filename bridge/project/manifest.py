"""The manifest: one JSON file per job saying what was written and where it goes.

DAW scripts read it to place every file on the timeline, so its shape is fixed: it is
written and read through `ManifestDocument`, whose JSON Schema is shipped with the package
(``bridge/schemas/manifest.schema.json``, generated from the model).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bridge.errors import ProjectError
from bridge.errors.describe import describe_errors
from bridge.files import translate_os_error, write_new_in
from bridge.jobs.model import ImportTarget
from bridge.jobs.wire import JSON_SCHEMA_DIALECT

MANIFEST_SCHEMA_VERSION: Final = 1
MANIFEST_NAME: Final = "manifest.json"
SCHEMA_ID: Final = "https://producer-bridge.invalid/schemas/manifest-1.json"


@dataclass(frozen=True)
class FileEntry:
    """One written audio file; positions and lengths in samples are at `sample_rate`."""

    path: str
    kind: str
    clip: int
    audio_id: str | None
    position_seconds: float
    position_samples: int
    length_samples: int
    sample_rate: int
    channels: int
    playrate: float

    def to_json(self) -> dict[str, Any]:
        """The entry as the manifest holds it (checked against the schema by `Manifest`)."""
        return {
            "path": self.path,
            "kind": self.kind,
            "clip": self.clip,
            "audioId": self.audio_id,
            "position": {"seconds": self.position_seconds, "samples": self.position_samples},
            "lengthSamples": self.length_samples,
            "sampleRate": self.sample_rate,
            "channels": self.channels,
            "playrate": self.playrate,
        }

    @classmethod
    def from_document(cls, doc: FileDocument) -> FileEntry:
        return cls(
            path=doc.path,
            kind=doc.kind,
            clip=doc.clip,
            audio_id=doc.audioId,
            position_seconds=doc.position.seconds,
            position_samples=doc.position.samples,
            length_samples=doc.lengthSamples,
            sample_rate=doc.sampleRate,
            channels=doc.channels,
            playrate=doc.playrate,
        )


@dataclass(frozen=True)
class Manifest:
    """Everything about one finished job that a DAW script or a person needs later."""

    job_id: str
    created_at: str
    action: str
    model: str
    seed: int | None
    title: str | None
    request: dict[str, Any]
    project_folder: str
    project_sample_rate: int | None
    clip: dict[str, Any] | None
    selection: dict[str, float] | None
    task_ids: dict[str, str]
    audio_ids: dict[str, str]
    folder: str
    files: tuple[FileEntry, ...]
    import_as: str = "takes"
    credits: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The manifest as JSON data; ProjectError naming the field if it breaks the schema
        (a bug: DAW scripts would misplace what it describes)."""
        try:
            return self._document().model_dump(mode="json")
        except ValidationError as exc:
            raise _malformed(exc) from None

    def _document(self) -> ManifestDocument:
        return ManifestDocument.model_validate(
            {
                "schemaVersion": MANIFEST_SCHEMA_VERSION,
                "jobId": self.job_id,
                "createdAt": self.created_at,
                "action": self.action,
                "model": self.model,
                "seed": self.seed,
                "title": self.title,
                "request": self.request,
                "project": {"folder": self.project_folder, "sampleRate": self.project_sample_rate},
                "clip": self.clip,
                "selection": self.selection,
                "taskIds": self.task_ids,
                "audioIds": self.audio_ids,
                "folder": self.folder,
                "files": [entry.to_json() for entry in self.files],
                "importAs": self.import_as,
                "credits": self.credits,
            }
        )

    @classmethod
    def from_json(cls, data: Any) -> Manifest:
        """A manifest read back; ProjectError if it is not one this version understands."""
        version = data.get("schemaVersion") if isinstance(data, dict) else None
        if version != MANIFEST_SCHEMA_VERSION:
            raise ProjectError(
                f"manifest schemaVersion {version!r} is not {MANIFEST_SCHEMA_VERSION}: "
                "it was written by another version of producer-bridge; use that version"
            )
        try:
            doc = ManifestDocument.model_validate(data)
        except ValidationError as exc:
            raise _malformed(exc) from None
        return cls(
            job_id=doc.jobId,
            created_at=doc.createdAt,
            action=doc.action,
            model=doc.model,
            seed=doc.seed,
            title=doc.title,
            request=doc.request,
            project_folder=doc.project.folder,
            project_sample_rate=doc.project.sampleRate,
            clip=None if doc.clip is None else doc.clip.model_dump(),
            selection=None if doc.selection is None else doc.selection.model_dump(),
            task_ids=doc.taskIds,
            audio_ids=doc.audioIds,
            folder=doc.folder,
            files=tuple(FileEntry.from_document(entry) for entry in doc.files),
            import_as=doc.importAs,
            credits=doc.credits,
        )


def _malformed(exc: ValidationError) -> ProjectError:
    issues = "; ".join(str(issue) for issue in describe_errors(exc, ManifestDocument, {}))
    return ProjectError(f"the manifest does not match its schema: {issues}")


def write_manifest(folder: Path, manifest: Manifest) -> Path:
    """Write `manifest.json` into the results `folder` (resolved: a link on its way is
    refused); never replaces an existing one."""
    dest = folder / MANIFEST_NAME
    text = json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n"
    try:
        write_new_in(dest, text.encode("utf-8"))
    except FileExistsError as exc:
        raise ProjectError(
            f"{dest} already exists; results never overwrite a file: "
            "move it away if it belongs to an abandoned job, then retry the job"
        ) from exc
    except OSError as exc:
        raise translate_os_error(exc, folder) from exc
    return dest


_RELATIVE = r"^(?!/)(?!(.*/)?\.\.(/|$)).+$"
RelativePath = Annotated[
    str,
    Field(
        min_length=1,
        pattern=_RELATIVE,
        description="A POSIX path relative to the project folder: no leading `/`, "
        "no `..` segment.",
    ),
]
SampleRate = Annotated[int, Field(ge=1, description="Sample rate in Hz.")]
Playrate = Annotated[
    float,
    Field(
        gt=0,
        description="Playback rate factor the DAW must apply so the file lines up "
        "(1.0 = normal speed).",
    ),
]
# "instrumental": the second of the two stems some providers split into (acedata).
Kind = Literal["result", "spliced", "vocals", "drums", "bass", "other", "instrumental"]
KINDS: Final[tuple[str, ...]] = get_args(Kind)


class _Document(BaseModel):
    # python-re: the relative-path pattern needs look-ahead, which the default engine lacks.
    model_config = ConfigDict(extra="forbid", strict=True, regex_engine="python-re")


class PositionDocument(_Document):
    """Where the file starts on the DAW timeline, from the project start."""

    seconds: float = Field(ge=0, description="Start position in seconds (timeline time).")
    samples: int = Field(ge=0, description="Start position in samples at the file's sampleRate.")


class FileDocument(_Document):
    """One audio file written by the job."""

    path: RelativePath = Field(
        description="Where the file is, relative to the project folder (POSIX separators)."
    )
    kind: Kind = Field(
        description="What the file holds: the whole result as the service gave it; the "
        "original clip with the result spliced in (replace: the regenerated section inside "
        "the untouched original; extend: the original up to the continuation point, then the "
        "continuation); or one separated stem."
    )
    clip: int = Field(ge=1, description="1-based index of the result clip this file belongs to.")
    audioId: str | None = Field(
        description="The API's id of the audio this file came from, or null if it has none."
    )
    position: PositionDocument = Field(
        description="Where the file starts on the DAW timeline, from the project start."
    )
    lengthSamples: int = Field(
        ge=0, description="Length of the file in samples (frames) per channel, at its sampleRate."
    )
    sampleRate: SampleRate = Field(description="The file's own sample rate in Hz.")
    channels: int = Field(
        ge=1, description="Number of audio channels in the file (1 = mono, 2 = stereo)."
    )
    playrate: Playrate = Field(
        description="Rate the DAW must play the file at: the source clip's playrate "
        "(1.0 for create)."
    )


class ProjectDocument(_Document):
    """The DAW project the results were written into."""

    folder: str = Field(
        min_length=1, description="Absolute path of the project folder, symlinks resolved."
    )
    sampleRate: SampleRate | None = Field(
        description="The project's sample rate in Hz, or null if unknown (files keep their "
        "own rate)."
    )


class ClipDocument(_Document):
    """The source clip on the timeline."""

    path: str = Field(description="Absolute path of the source clip's audio file.")
    itemPosition: float = Field(description="Start of the item on the timeline, in seconds.")
    takeOffset: float = Field(
        description="Offset into the source file where the item starts, in seconds."
    )
    playrate: Playrate
    length: Annotated[float, Field(ge=0)] | None = Field(
        description="Length of the item on the timeline, in seconds; null when the item runs "
        "to the end of its source."
    )


class SelectionDocument(_Document):
    """The time selection used, in seconds from the project start."""

    start: float = Field(ge=0, description="Selection start in seconds.")
    end: float = Field(ge=0, description="Selection end in seconds.")


class ManifestDocument(_Document):
    """Written once as manifest.json in a job's results folder; describes every file the job
    wrote and where it belongs on the DAW timeline. Paths in `files` and `folder` are POSIX
    paths relative to the project folder; `project.folder` is absolute."""

    model_config = ConfigDict(
        title=f"producer-bridge result manifest, version {MANIFEST_SCHEMA_VERSION}",
        json_schema_extra={"$id": SCHEMA_ID},
    )

    schemaVersion: Literal[1] = Field(
        description="Version of this manifest format; readers refuse versions they do not know."
    )
    jobId: str = Field(
        min_length=1,
        description="The bridge's id for the job (used by `producer-bridge jobs ...`).",
    )
    createdAt: str = Field(
        min_length=1, description="When the manifest was written: ISO 8601 date-time in UTC."
    )
    action: str = Field(min_length=1, description="The action the job ran.")
    model: str = Field(description="The model name sent to the API.")
    seed: int | None = Field(
        description="The seed sent to the API, or null if the service chose one."
    )
    title: str | None = Field(description="The title of the result, or null if it has none.")
    request: dict[str, Any] = Field(
        description="The API request as sent (times relative to the upload), without any secret."
    )
    project: ProjectDocument = Field(description="The DAW project the results went into.")
    clip: ClipDocument | None = Field(
        description="The source clip on the timeline, or null for create. itemPosition, "
        "takeOffset and length are in seconds; path is the clip's absolute file path."
    )
    selection: SelectionDocument | None = Field(
        description="The time selection used, in seconds from the project start, or null."
    )
    taskIds: dict[str, str] = Field(description="API task ids by step (e.g. generate, stems).")
    audioIds: dict[str, str] = Field(description="API audio ids by clip or step.")
    folder: RelativePath = Field(
        description="The job's results folder, relative to the project folder (POSIX "
        "separators)."
    )
    files: list[FileDocument] = Field(
        description="Every audio file the job wrote, in the order written."
    )
    importAs: ImportTarget = Field(
        "takes",
        description="Where the DAW's importer puts the results, as the request asked: new "
        "takes on the source item, new tracks, or nowhere (the files are only written).",
    )
    credits: float | None = Field(
        None,
        description="What the job cost in the provider's credits (refunds of failed tasks "
        "taken off), from its credit history; null when the provider cannot tell.",
    )


def schema() -> dict[str, Any]:
    """The manifest's JSON Schema (draft 2020-12), generated from `ManifestDocument`."""
    return {"$schema": JSON_SCHEMA_DIALECT, **ManifestDocument.model_json_schema()}
