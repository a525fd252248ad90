"""The manifest matches its published JSON Schema, round-trips, and is written once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from bridge.errors import ProjectError
from bridge.project import MANIFEST_NAME, FileEntry, Manifest, schema, write_manifest


def entry(path: str = "producer/0001-night/take-1.wav", kind: str = "result") -> FileEntry:
    return FileEntry(
        path=path,
        kind=kind,
        clip=1,
        audio_id="aud-1",
        position_seconds=12.5,
        position_samples=600000,
        length_samples=1440000,
        sample_rate=48000,
        channels=2,
        playrate=1.0,
    )


def manifest(files: tuple[FileEntry, ...] = (entry(),)) -> Manifest:
    return Manifest(
        job_id="job-0001",
        created_at="2025-01-02T03:04:05Z",
        action="extend",
        model="producer-2",
        seed=None,
        title="夜の歌",
        request={"prompt": "warm synths", "continueAt": 30.0},
        project_folder="/home/me/music/night",
        project_sample_rate=48000,
        clip={
            "path": "/home/me/music/night/audio/synth.wav",
            "itemPosition": 12.5,
            "takeOffset": 0.0,
            "playrate": 1.0,
            "length": 30.0,
        },
        selection={"start": 12.5, "end": 42.5},
        task_ids={"generate": "task-1"},
        audio_ids={"1": "aud-1"},
        folder="producer/0001-night",
        files=files,
    )


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    loaded = schema()
    Draft202012Validator.check_schema(loaded)
    return Draft202012Validator(loaded)


def errors(validator: Draft202012Validator, data: dict[str, Any]) -> list[str]:
    return [error.message for error in validator.iter_errors(data)]


def test_the_schema_is_a_valid_2020_12_schema_with_a_stable_id() -> None:
    loaded = schema()
    Draft202012Validator.check_schema(loaded)
    assert loaded["$id"] == "https://producer-bridge.invalid/schemas/manifest-1.json"
    assert loaded["properties"]["schemaVersion"]["const"] == 1


def test_every_schema_property_is_described() -> None:
    def undescribed(node: Any, where: str) -> list[str]:
        if not isinstance(node, dict):
            return []
        missing = []
        for name, prop in node.get("properties", {}).items():
            if "description" not in prop and "$ref" not in prop:
                missing.append(f"{where}.{name}")
            missing += undescribed(prop, f"{where}.{name}")
        for name, definition in node.get("$defs", {}).items():
            missing += undescribed(definition, f"$defs.{name}")
        return missing

    assert undescribed(schema(), "") == []


def test_a_built_manifest_validates(validator: Draft202012Validator) -> None:
    data = manifest(files=(entry(), entry("producer/0001-night/vocals.wav", "vocals"))).to_json()
    assert errors(validator, data) == []


def test_a_create_manifest_without_clip_selection_or_project_rate_validates(
    validator: Draft202012Validator,
) -> None:
    data = manifest().to_json()
    data.update(clip=None, selection=None, seed=42, title=None)
    data["project"]["sampleRate"] = None
    assert errors(validator, data) == []


@pytest.mark.parametrize(
    "path", ["../outside.wav", "producer/../../x.wav", "producer/..", "/etc/take.wav"]
)
def test_file_paths_leaving_the_project_fail_validation(
    validator: Draft202012Validator, path: str
) -> None:
    data = manifest().to_json()
    data["files"][0]["path"] = path
    assert errors(validator, data) != []
    with pytest.raises(ProjectError, match=r"files\[0\]\.path"):
        Manifest.from_json(data)


@pytest.mark.parametrize("path", ["../outside.wav", "/etc/take.wav"])
def test_the_bridge_never_writes_a_manifest_its_schema_refuses(path: str) -> None:
    with pytest.raises(ProjectError, match=r"files\[0\]\.path: does not have the allowed form"):
        manifest(files=(entry(path),)).to_json()
    with pytest.raises(ProjectError, match=r"files\[0\]\.kind: must be one of result"):
        manifest(files=(entry(kind="guitar"),)).to_json()


def test_a_results_folder_with_dotdot_fails_validation(validator: Draft202012Validator) -> None:
    data = manifest().to_json()
    data["folder"] = "../elsewhere"
    assert errors(validator, data) != []


def test_an_unknown_top_level_key_fails_validation(validator: Draft202012Validator) -> None:
    data = manifest().to_json()
    data["apiKey"] = "sk-should-never-be-here"
    assert any("apiKey" in message for message in errors(validator, data))


@pytest.mark.parametrize("key", ["jobId", "seed", "clip", "files", "project"])
def test_a_missing_key_fails_validation(validator: Draft202012Validator, key: str) -> None:
    data = manifest().to_json()
    del data[key]
    assert any(key in message for message in errors(validator, data))


def test_a_missing_file_entry_key_fails_validation(validator: Draft202012Validator) -> None:
    data = manifest().to_json()
    del data["files"][0]["playrate"]
    assert any("playrate" in message for message in errors(validator, data))


def test_a_wrong_kind_fails_validation(validator: Draft202012Validator) -> None:
    data = manifest().to_json()
    data["files"][0]["kind"] = "guitar"
    assert errors(validator, data) != []


@pytest.mark.parametrize(
    ("field", "value"),
    [("sampleRate", 0), ("playrate", 0.0), ("lengthSamples", -1), ("clip", 0)],
)
def test_out_of_range_numbers_fail_validation(
    validator: Draft202012Validator, field: str, value: float
) -> None:
    data = manifest().to_json()
    data["files"][0][field] = value
    assert errors(validator, data) != []


def test_a_negative_position_fails_validation(validator: Draft202012Validator) -> None:
    data = manifest().to_json()
    data["files"][0]["position"]["samples"] = -1
    assert errors(validator, data) != []


def test_another_schema_version_fails_validation(validator: Draft202012Validator) -> None:
    data = manifest().to_json()
    data["schemaVersion"] = 2
    assert errors(validator, data) != []


def test_to_json_and_from_json_round_trip() -> None:
    original = manifest(files=(entry(), entry("producer/0001-night/drums.wav", "drums")))
    assert Manifest.from_json(json.loads(json.dumps(original.to_json()))) == original


def test_from_json_refuses_another_schema_version() -> None:
    data = manifest().to_json()
    data["schemaVersion"] = 2
    with pytest.raises(ProjectError, match="schemaVersion 2"):
        Manifest.from_json(data)


def test_from_json_refuses_a_manifest_missing_a_key() -> None:
    data = manifest().to_json()
    del data["taskIds"]
    with pytest.raises(ProjectError, match="taskIds: is required"):
        Manifest.from_json(data)


def test_write_manifest_writes_readable_utf8_json(
    tmp_path: Path, validator: Draft202012Validator
) -> None:
    path = write_manifest(tmp_path, manifest())
    assert path == tmp_path / MANIFEST_NAME
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert "夜の歌" in text  # not \u-escaped: people read this file too
    assert errors(validator, json.loads(text)) == []
    assert [p.name for p in tmp_path.iterdir()] == [MANIFEST_NAME]


def test_write_manifest_refuses_to_overwrite(tmp_path: Path) -> None:
    (tmp_path / MANIFEST_NAME).write_text("{}", encoding="utf-8")
    with pytest.raises(ProjectError, match="already exists; results never overwrite a file"):
        write_manifest(tmp_path, manifest())
    assert (tmp_path / MANIFEST_NAME).read_text(encoding="utf-8") == "{}"


def test_write_manifest_into_a_missing_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="does not exist"):
        write_manifest(tmp_path / "gone", manifest())
