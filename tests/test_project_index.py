"""The finished-jobs index lists each job once, on whole lines, even under contention."""

from __future__ import annotations

import json
import logging
import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import ProjectError
from bridge.project import INDEX_NAME, append_index, index_entry, read_index


def entry(job_id: str, title: str | None = "night") -> dict[str, Any]:
    return index_entry(
        job_id=job_id,
        finished_at="2025-01-02T03:04:05Z",
        action="create",
        title=title,
        manifest=f"{job_id}/manifest.json",
    )


def lines(root: Path) -> list[str]:
    return (root / INDEX_NAME).read_text(encoding="utf-8").splitlines()


def test_two_appends_make_two_lines_in_order(tmp_path: Path) -> None:
    assert append_index(tmp_path, entry("job-1"))
    assert append_index(tmp_path, entry("job-2", title="夜"))

    assert len(lines(tmp_path)) == 2
    assert [e["jobId"] for e in read_index(tmp_path)] == ["job-1", "job-2"]
    assert read_index(tmp_path)[1]["title"] == "夜"
    assert read_index(tmp_path)[0] == entry("job-1")


def test_entries_are_compact_single_lines_with_schema_version(tmp_path: Path) -> None:
    append_index(tmp_path, entry("job-1"))
    (line,) = lines(tmp_path)
    assert ", " not in line
    assert json.loads(line)["schemaVersion"] == 1


def test_a_job_already_listed_is_not_listed_twice(tmp_path: Path) -> None:
    assert append_index(tmp_path, entry("job-1"))
    assert not append_index(tmp_path, entry("job-1", title="resumed"))

    assert len(lines(tmp_path)) == 1
    assert read_index(tmp_path)[0]["title"] == "night"


def test_a_job_named_only_in_another_line_is_listed(tmp_path: Path) -> None:
    assert append_index(tmp_path, entry("job-1", title="after job-2 and job-2/x"))
    assert append_index(tmp_path, entry("job-2"))
    assert not append_index(tmp_path, entry("job-2"))

    assert [e["jobId"] for e in read_index(tmp_path)] == ["job-1", "job-2"]


def test_a_job_id_beyond_ascii_is_listed_once(tmp_path: Path) -> None:
    assert append_index(tmp_path, entry("夜-1"))
    assert not append_index(tmp_path, entry("夜-1", title="resumed"))

    assert [e["jobId"] for e in read_index(tmp_path)] == ["夜-1"]


def test_after_a_torn_line_the_next_entry_starts_on_its_own_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    append_index(tmp_path, entry("job-1"))
    with (tmp_path / INDEX_NAME).open("ab") as index:
        index.write(b'{"schemaVersion":1,"jobId":"job-2","fini')  # a crash mid-write

    assert append_index(tmp_path, entry("job-3"))

    with caplog.at_level(logging.WARNING):
        assert [e["jobId"] for e in read_index(tmp_path)] == ["job-1", "job-3"]
    assert "line 2" in caplog.text
    assert lines(tmp_path)[2] == json.dumps(entry("job-3"), separators=(",", ":"))


def test_a_job_whose_line_was_torn_can_be_listed_again(tmp_path: Path) -> None:
    (tmp_path / INDEX_NAME).write_bytes(b'{"schemaVersion":1,"jobId":"job-1"')
    assert append_index(tmp_path, entry("job-1"))
    assert [e["jobId"] for e in read_index(tmp_path)] == ["job-1"]


def test_a_missing_index_reads_as_empty(tmp_path: Path) -> None:
    assert read_index(tmp_path) == []


def test_blank_and_non_object_lines_are_skipped(tmp_path: Path) -> None:
    (tmp_path / INDEX_NAME).write_text('\n[1, 2]\n\n{"jobId": "job-1"}\n', encoding="utf-8")
    assert read_index(tmp_path) == [{"jobId": "job-1"}]


def test_an_entry_without_a_job_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="jobId"):
        append_index(tmp_path, {"action": "create"})
    assert not (tmp_path / INDEX_NAME).exists()


def test_an_index_in_a_missing_folder_is_a_project_error(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="does not exist"):
        append_index(tmp_path / "gone", entry("job-1"))


def test_concurrent_appends_from_8_threads_all_land_as_whole_lines(tmp_path: Path) -> None:
    def finish(worker: int) -> list[bool]:
        # Every worker also tries to list job-shared: exactly one of them may succeed.
        jobs = [f"job-{worker}-{n}" for n in range(25)] + ["job-shared"]
        return [append_index(tmp_path, entry(job, title="x" * 2000)) for job in jobs]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [ok for oks in pool.map(finish, range(8)) for ok in oks]

    assert results.count(True) == 8 * 25 + 1
    written = lines(tmp_path)
    assert len(written) == 8 * 25 + 1
    assert all(json.loads(line)["title"] == "x" * 2000 for line in written)
    assert len({json.loads(line)["jobId"] for line in written}) == len(written)


def _append_many(root: str, worker: int) -> None:
    for n in range(20):
        append_index(Path(root), entry(f"job-{worker}-{n}", title="y" * 5000))


def test_concurrent_appends_from_4_processes_all_land_as_whole_lines(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(tmp_path), w)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=60)
    assert [process.exitcode for process in workers] == [0, 0, 0, 0]

    entries = read_index(tmp_path)
    assert len(lines(tmp_path)) == len(entries) == 80
    assert {e["jobId"] for e in entries} == {f"job-{w}-{n}" for w in range(4) for n in range(20)}
