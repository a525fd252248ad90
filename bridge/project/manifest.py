"""The manifest: one JSON file per job saying what was written and where it goes.

DAW scripts read it to place every file on the timeline, so its shape is fixed by a
JSON Schema shipped with the package (``bridge/schemas/manifest.schema.json``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, cast

from bridge.errors import ProjectError
from bridge.files import translate_os_error, write_bytes_atomic

MANIFEST_SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"
KINDS = ("result", "spliced", "vocals", "drums", "bass", "other")


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
    def from_json(cls, data: Mapping[str, Any]) -> FileEntry:
        return cls(
            path=data["path"],
            kind=data["kind"],
            clip=data["clip"],
            audio_id=data["audioId"],
            position_seconds=data["position"]["seconds"],
            position_samples=data["position"]["samples"],
            length_samples=data["lengthSamples"],
            sample_rate=data["sampleRate"],
            channels=data["channels"],
            playrate=data["playrate"],
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

    def to_json(self) -> dict[str, Any]:
        return {
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
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        """A manifest read back; ProjectError if it is not one this version understands."""
        version = data.get("schemaVersion")
        if version != MANIFEST_SCHEMA_VERSION:
            raise ProjectError(
                f"manifest schemaVersion {version!r} is not {MANIFEST_SCHEMA_VERSION}: "
                "it was written by another version of producer-bridge; use that version"
            )
        try:
            return cls._from_fields(data)
        except (KeyError, TypeError) as exc:
            raise ProjectError(
                f"manifest is incomplete or malformed ({type(exc).__name__}: {exc}); "
                "check it against the schema from `bridge.project.schema()`"
            ) from exc

    @classmethod
    def _from_fields(cls, data: Mapping[str, Any]) -> Manifest:
        return cls(
            job_id=data["jobId"],
            created_at=data["createdAt"],
            action=data["action"],
            model=data["model"],
            seed=data["seed"],
            title=data["title"],
            request=dict(data["request"]),
            project_folder=data["project"]["folder"],
            project_sample_rate=data["project"]["sampleRate"],
            clip=None if data["clip"] is None else dict(data["clip"]),
            selection=None if data["selection"] is None else dict(data["selection"]),
            task_ids=dict(data["taskIds"]),
            audio_ids=dict(data["audioIds"]),
            folder=data["folder"],
            files=tuple(FileEntry.from_json(entry) for entry in data["files"]),
            import_as=data.get("importAs", "takes"),
        )


def write_manifest(folder: Path, manifest: Manifest) -> Path:
    """Write `manifest.json` into the results `folder`; never replaces an existing one."""
    dest = folder / MANIFEST_NAME
    text = json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n"
    try:
        write_bytes_atomic(dest, text.encode("utf-8"))
    except FileExistsError as exc:
        raise ProjectError(
            f"{dest} already exists; results never overwrite a file: "
            "move it away if it belongs to an abandoned job, then retry the job"
        ) from exc
    except OSError as exc:
        raise translate_os_error(exc, folder) from exc
    return dest


def schema() -> dict[str, Any]:
    """The manifest's JSON Schema (draft 2020-12), as shipped with the package."""
    text = resources.files("bridge.schemas").joinpath("manifest.schema.json").read_text("utf-8")
    return cast(dict[str, Any], json.loads(text))
