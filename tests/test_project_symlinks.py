"""Every file and folder the bridge writes in a project, with a symbolic link planted at its
name: real jobs against the emulator refuse the write, and nothing outside the project is
created, changed or removed (the link pointing at something that exists, and dangling)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from bridge.emulator.server import EmulatorServer
from bridge.errors import ProjectError
from bridge.files import Folder, write_new_in
from bridge.jobs import ClipPlacement, JobOptions, JobRequest, Selection, validate_request
from bridge.jobs.request import AudioRequest, Sound
from bridge.jobs.state import JobStatus
from bridge.pipeline.output import folder_name
from bridge.project import append_index, index_entry
from tests.conftest import pipeline_runner

MODELS = ("FUZZ-2.0",)
RESULTS = "ProducerBridge"
JOB = "{job}"  # stands for the job's own results folder, named when the job is made

# Where a link is planted, relative to the project, and whether it stands for a folder.
WRITTEN = [
    (RESULTS, True),
    (f"{RESULTS}/index.jsonl", False),
    (f"{RESULTS}/.index.jsonl.lock", False),
    (f"{RESULTS}/{JOB}", True),
    (f"{RESULTS}/{JOB}/result.wav", False),
    (f"{RESULTS}/{JOB}/stems", True),
    (f"{RESULTS}/{JOB}/stems/vocals.wav", False),
    (f"{RESULTS}/{JOB}/manifest.json", False),
]


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every entry under `folder` with its bytes (None for a folder)."""
    return {
        path.relative_to(folder).as_posix(): None if path.is_dir() else path.read_bytes()
        for path in sorted(folder.rglob("*"))
    }


def create_with_stems(project: Path, clip: Path) -> JobRequest:
    audio = AudioRequest("create_music", "FUZZ-2.0", (Sound("pop", 0.5),), title="song")
    request = JobRequest(audio, str(project), None, None, None, JobOptions(stems=True))
    return validate_request(request, MODELS)


def replace(project: Path, clip: Path) -> JobRequest:
    placement = ClipPlacement(str(clip), item_position=0.0, length=4.0)
    audio = AudioRequest("replace_music", "FUZZ-2.0", (Sound("strings", 0.5),))
    request = JobRequest(audio, str(project), None, placement, Selection(1.0, 2.0))
    return validate_request(request, MODELS)


CASES = [(where, folder, create_with_stems) for where, folder in WRITTEN]
CASES.append((f"{RESULTS}/{JOB}/spliced.wav", False, replace))


@pytest.mark.parametrize("dangling", [False, True], ids=["to-outside", "dangling"])
@pytest.mark.parametrize(("where", "is_folder", "make"), CASES, ids=[case[0] for case in CASES])
async def test_a_link_planted_where_the_bridge_writes_is_refused_and_nothing_lands_outside(
    make_emulator: Callable[..., EmulatorServer],
    tone: Callable[..., Path],
    tmp_path: Path,
    where: str,
    is_folder: bool,
    make: Callable[[Path, Path], JobRequest],
    dangling: bool,
) -> None:
    server = make_emulator()
    project = tmp_path / "song"
    project.mkdir()
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "keep.txt").write_bytes(b"the user's own file")
    target = outside / "target"
    if not dangling:
        if is_folder:
            target.mkdir()
        else:
            target.write_bytes(b"precious")
    before = snapshot(outside)
    async with pipeline_runner(server, tmp_path) as runner:
        job = runner.submit(make(project, tone(6.0)))
        link = project / where.replace(JOB, folder_name(job))
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target, target_is_directory=is_folder)
        finished = (await runner.run_until_idle())[job.id]
    assert finished.status == JobStatus.FAILED
    assert finished.error is not None
    assert "symbolic link" in finished.error, finished.error
    assert snapshot(outside) == before
    assert link.is_symlink()


@pytest.fixture(params=[True, False], ids=["folder-descriptors", "paths"])
def descriptors(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Folders opened as descriptors, or (as on Windows, which has none) by whole paths."""
    monkeypatch.setattr("bridge.files._AT", request.param)
    return bool(request.param)


@pytest.mark.parametrize("dangling", [False, True], ids=["to-outside", "dangling"])
def test_a_link_put_at_the_temporary_name_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dangling: bool, descriptors: bool
) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    target = outside / "target"
    if not dangling:
        target.write_bytes(b"precious")
    before = snapshot(outside)
    folder = tmp_path / "project"
    folder.mkdir()
    temp = folder / ".result.wav.0000.tmp"
    temp.symlink_to(target)
    monkeypatch.setattr("bridge.files.temp_path", lambda dest: temp)
    with pytest.raises(ProjectError, match="symbolic link"):
        write_new_in(folder / "result.wav", b"RIFF")
    assert snapshot(outside) == before
    assert not (folder / "result.wav").exists()


def test_a_folder_with_a_link_on_its_way_is_refused_and_nothing_is_made_through_it(
    tmp_path: Path, descriptors: bool
) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (tmp_path / "project").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ProjectError, match=r"project is a symbolic link.*remove the link"):
        Folder.open(tmp_path / "project" / "ProducerBridge" / "job", create=True)
    assert os.listdir(outside) == []


@pytest.mark.parametrize("make", [create_with_stems, replace])
async def test_without_a_link_the_same_jobs_write_every_file_named_above(
    make_emulator: Callable[..., EmulatorServer],
    tone: Callable[..., Path],
    tmp_path: Path,
    make: Callable[[Path, Path], JobRequest],
) -> None:
    server = make_emulator()
    project = tmp_path / "song"
    async with pipeline_runner(server, tmp_path) as runner:
        job = runner.submit(make(project, tone(6.0)))
        finished = (await runner.run_until_idle())[job.id]
    assert finished.status == JobStatus.COMPLETED, finished.error
    names = [where.replace(JOB, folder_name(job)) for where, _, maker in CASES if maker is make]
    assert all((project / name).exists() for name in names), names


def test_a_folder_swapped_for_a_link_after_it_was_opened_still_gets_the_write(
    tmp_path: Path,
) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    results = tmp_path / "project" / "ProducerBridge"
    with Folder.open(results, create=True) as folder:
        # Swapped between the walk and the write: the write goes where the walk led.
        results.rename(tmp_path / "moved")
        results.symlink_to(outside, target_is_directory=True)
        folder.write_new("manifest.json", b"{}")
    assert os.listdir(outside) == []
    assert (tmp_path / "moved" / "manifest.json").read_bytes() == b"{}"


@pytest.mark.parametrize("name", ["index.jsonl", ".index.jsonl.lock"])
def test_a_link_at_the_index_or_its_lock_is_refused_by_both_ways_of_opening(
    tmp_path: Path, descriptors: bool, name: str
) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "target").write_bytes(b"precious")
    results = tmp_path / "ProducerBridge"
    results.mkdir()
    (results / name).symlink_to(outside / "target")
    with pytest.raises(ProjectError, match=f"{name} is a symbolic link"):
        append_index(
            results, index_entry(job_id="j", finished_at="t", action="a", title=None, manifest="m")
        )
    assert (outside / "target").read_bytes() == b"precious"
    assert os.listdir(outside) == ["target"]
