"""The published JSON Schemas are generated from the models that read and write the
documents, and the documents the bridge writes validate against them."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from bridge.daemon.board import StatusBoard
from bridge.jobs import JobRequest, JobStatus, new_job
from bridge.jobs.request import AudioRequest
from bridge.project import index_entry
from bridge.schemas import generated

SHIPPED = Path(__file__).resolve().parent.parent / "bridge" / "schemas"


@pytest.mark.parametrize("name", sorted(generated()))
def test_each_shipped_schema_is_the_one_generated_from_its_model(name: str) -> None:
    schema = generated()[name]
    Draft202012Validator.check_schema(schema)
    assert json.loads((SHIPPED / name).read_text(encoding="utf-8")) == schema


def test_a_status_file_the_board_writes_validates(tmp_path: Path) -> None:
    request = JobRequest(AudioRequest("create_music", "FUZZ-2.0", title="song"), "/p")
    job = dataclasses.replace(new_job("ab" * 8, request, 0.0), status=JobStatus.FAILED)
    board = StatusBoard(tmp_path, service="http://127.0.0.1:1")
    board.update(job)
    board.update(new_job("cd" * 8, request, 0.0))
    board.progress("cd" * 8, "fetch result_1.wav", 0.5)
    board.flush()
    document = json.loads((tmp_path / "status.json").read_text(encoding="utf-8"))
    Draft202012Validator(generated()["status.schema.json"]).validate(document)


def test_an_index_line_validates_and_one_without_a_job_id_does_not() -> None:
    line = index_entry(
        job_id="ab" * 8,
        finished_at="2025-01-02T03:04:05Z",
        action="create_music",
        title=None,
        manifest="Producer/song/manifest.json",
    )
    validator = Draft202012Validator(generated()["index-line.schema.json"])
    validator.validate(line)
    assert list(validator.iter_errors({**line, "jobId": ""}))
