"""The import script against results made by the real pipeline: an action script writes the
request, the daemon's parser reads it, the pipeline runs it against the emulator and writes
the files, the manifest and the index; then "Import results" places them under the fake
REAPER, and every position, take, track, playrate and offset is checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

from bridge.emulator.server import EmulatorServer
from bridge.jobs.state import Job, JobStatus
from bridge.jobs.wire import parse_request
from tests.conftest import pipeline_runner, write_tone
from tests.reaper_fixtures import DEFAULTS, Studio, audio_item


async def run_requests(server: EmulatorServer, tmp_path: Path, requests: list[Path]) -> list[Job]:
    """Each request file through the daemon's parser and the real pipeline."""

    async with pipeline_runner(server, tmp_path) as runner:
        jobs = [
            runner.submit(parse_request(json.loads(path.read_text()), DEFAULTS))
            for path in requests
        ]
        finished = await runner.run_until_idle()
    done = [finished[job.id] for job in jobs]
    assert all(job.status == JobStatus.COMPLETED for job in done), [job.error for job in done]
    return done


def manifest(studio: Studio, job: Job) -> dict[str, Any]:
    assert job.facts.manifest is not None
    data: dict[str, Any] = json.loads((studio.project / job.facts.manifest).read_text())
    return data


def by_kind(data: dict[str, Any], *kinds: str) -> list[dict[str, Any]]:
    """The manifest's file entry of each kind, in the order asked."""
    found = {entry["kind"]: entry for entry in data["files"]}
    return [found[kind] for kind in kinds]


def seconds(entry: dict[str, Any]) -> float:
    return float(entry["lengthSamples"] / entry["sampleRate"] / entry["playrate"])


@pytest.fixture
def studio(tmp_path: Path) -> Studio:
    return Studio(tmp_path)


async def test_a_replaced_section_comes_back_as_a_new_active_take_on_its_item(
    studio: Studio, emulator: EmulatorServer
) -> None:
    write_tone(studio.take, 12.0, rate=44100)
    items = [audio_item(studio.take, position=20.0, length=4.0, offset=1.0, playrate=2.0)]
    # No project rate and no device: the files keep the emulator's 44.1 kHz while the
    # project (at import) runs at 48 kHz.
    studio.run(
        "Replace time selection",
        studio.scenario(
            items=items,
            selection=(21, 22),
            inputs=[["strings", "0.5", ""]],
            project_srate_use=0,
            device_srate=None,
        ),
    )
    (job,) = await run_requests(emulator, studio.tmp, studio.requests())
    entry, raw = by_kind(manifest(studio, job), "spliced", "result")
    assert entry["sampleRate"] == raw["sampleRate"] == 44100
    assert entry["position"] == raw["position"]

    result = studio.run("Import results", studio.scenario(items=items))
    assert result["error"] is None
    assert result["messages"] == []
    (track,) = result["tracks"]
    (item,) = track["items"]
    assert (item["position"], item["length"]) == (20.0, 4.0)  # the item itself is untouched
    original, new = item["takes"]
    assert original["file"] == str(studio.take)
    assert new["file"] == str(studio.project / entry["path"])
    assert (new["offset"], new["playrate"]) == (0.0, 2.0)
    assert new["name"] == f"replace_music {job.id[:8]}"
    assert item["active"] == 2
    assert seconds(entry) == pytest.approx(4.0)  # 8 s of source at 2x covers the item
    assert result["undo"] == ["begin", "end: Producer Bridge: import results"]
    assert result["arrange_updates"] == 1
    assert result["projextstate"]["ProducerBridge"][f"imported.{job.id}"]

    again = studio.run(
        "Import results", studio.scenario(items=items, projextstate=result["projextstate"])
    )
    assert again["help"] == ["Producer Bridge: nothing new to import"]
    assert len(again["tracks"][0]["items"][0]["takes"]) == 1  # the scenario's own take only


async def test_a_result_over_part_of_the_item_goes_on_a_track_of_its_own(
    studio: Studio, emulator: EmulatorServer
) -> None:
    # A cover of a selection (from REAPER's Cover script with a time selection, OSC or the
    # drop folder) uploads the selection only: as a take, the rest of the item would play
    # silence.
    write_tone(studio.take, 10.0, rate=48000)
    items = [audio_item(studio.take, position=20.0, length=10.0, offset=0.0)]
    request = {
        "version": 1,
        "action": "cover_music",
        "prompts": [{"text": "bossa nova"}],
        "project": {"folder": str(studio.project)},
        "clip": {"path": str(studio.take), "itemPosition": 20.0, "length": 10.0},
        "selection": {"start": 23.0, "end": 26.0},
    }
    path = studio.tmp / "cover.json"
    path.write_text(json.dumps(request))
    (job,) = await run_requests(emulator, studio.tmp, [path])
    (entry,) = by_kind(manifest(studio, job), "result")
    assert entry["position"]["seconds"] == 23.0
    assert seconds(entry) == pytest.approx(3.0)

    result = studio.run("Import results", studio.scenario(items=items))
    source_track, cover_track = result["tracks"]
    assert len(source_track["items"][0]["takes"]) == 1  # the item itself is left alone
    (item,) = cover_track["items"]
    assert (item["position"], item["length"]) == (23.0, pytest.approx(3.0))
    assert item["takes"][0]["file"] == str(studio.project / entry["path"])


async def test_with_import_spliced_off_the_raw_result_becomes_the_new_take(
    studio: Studio, emulator: EmulatorServer
) -> None:
    write_tone(studio.take, 12.0, rate=48000)
    items = [audio_item(studio.take, position=2.0, length=8.0)]
    studio.run(
        "Replace time selection",
        studio.scenario(items=items, selection=(4, 6), inputs=[["strings", "0.5", ""]]),
    )
    (job,) = await run_requests(emulator, studio.tmp, studio.requests())
    (raw,) = by_kind(manifest(studio, job), "result")
    studio.extstate.setdefault("ProducerBridge", {})["import_spliced"] = "0"
    result = studio.run("Import results", studio.scenario(items=items))
    (track,) = result["tracks"]
    (item,) = track["items"]
    assert item["takes"][1]["file"] == str(studio.project / raw["path"])


async def test_an_extension_continues_the_item_from_its_end(
    studio: Studio, emulator: EmulatorServer
) -> None:
    write_tone(studio.take, 6.0, rate=48000)
    items = [audio_item(studio.take, position=10.0, length=4.0, offset=0.0)]
    studio.run("Extend item", studio.scenario(items=items, inputs=[["outro", "0.5", "3", ""]]))
    (job,) = await run_requests(emulator, studio.tmp, studio.requests())
    data = manifest(studio, job)
    (entry,) = by_kind(data, "spliced")
    assert data["request"]["continueAt"] == 4.0

    result = studio.run("Import results", studio.scenario(items=items))
    (track,) = result["tracks"]
    source_item, continuation = track["items"]
    assert len(source_item["takes"]) == 1
    (take,) = continuation["takes"]
    assert continuation["position"] == pytest.approx(14.0)  # the source item's end
    assert take["offset"] == pytest.approx(4.0)  # that point of the result
    assert continuation["length"] == pytest.approx(seconds(entry) - 4.0)
    assert take["file"] == str(studio.project / entry["path"])


async def test_tracks_and_stems_go_below_the_source_with_the_clip_playrate(
    studio: Studio, emulator: EmulatorServer
) -> None:
    write_tone(studio.take, 10.0, rate=44100)
    items = [audio_item(studio.take, position=8.0, length=4.0, offset=0.5, playrate=1.5)]
    studio.extstate["ProducerBridge"].update(import_as="tracks", stems="1")
    studio.run("Swap instrumental", studio.scenario(items=items, inputs=[["disco", "0.9", ""]]))
    (job,) = await run_requests(emulator, studio.tmp, studio.requests())
    files = {entry["kind"]: entry for entry in manifest(studio, job)["files"]}
    assert sorted(files) == ["bass", "drums", "other", "result", "vocals"]

    result = studio.run("Import results", studio.scenario(items=items))
    names = [(t["name"], t["depth"]) for t in result["tracks"]]
    label = f"swap_music_sound {job.id[:8]}"
    assert names == [
        ("Track 1", 0),
        (label, 0),
        (f"{label} stems", 1),
        ("bass", 0),
        ("drums", 0),
        ("other", 0),
        ("vocals", -1),
    ]
    assert len(result["tracks"][0]["items"][0]["takes"]) == 1  # "tracks": no new take
    for track in result["tracks"][1:]:
        if track["depth"] == 1:
            assert track["items"] == []
            continue
        (item,) = track["items"]
        (take,) = item["takes"]
        entry = files["result" if track["name"] == label else track["name"]]
        assert item["position"] == 8.0
        assert item["length"] == pytest.approx(seconds(entry))
        assert take["playrate"] == 1.5
        assert take["offset"] == 0.0
        assert take["file"] == str(studio.project / entry["path"])
        assert sf.info(take["file"]).samplerate == entry["sampleRate"]


async def test_created_music_lands_on_a_new_track_at_the_selection_start(
    studio: Studio, emulator: EmulatorServer
) -> None:
    studio.run(
        "Create in time selection",
        studio.scenario(selection=(32.0, 40.0), inputs=[["synth pop", "0.5", "", ""]]),
    )
    (job,) = await run_requests(emulator, studio.tmp, studio.requests())
    (entry,) = manifest(studio, job)["files"]
    result = studio.run("Import results", studio.scenario(items=[]))
    first, created = result["tracks"]
    assert first["items"] == []
    (item,) = created["items"]
    assert item["position"] == 32.0
    assert item["takes"][0]["playrate"] == 1.0
    assert item["length"] == pytest.approx(seconds(entry))


async def test_a_job_with_a_missing_file_is_reported_and_tried_again_later(
    studio: Studio, emulator: EmulatorServer
) -> None:
    studio.run(
        "Create in time selection",
        studio.scenario(selection=(0.0, 8.0), inputs=[["ambient", "0.5", "", ""]]),
    )
    (job,) = await run_requests(emulator, studio.tmp, studio.requests())
    (entry,) = manifest(studio, job)["files"]
    moved = studio.tmp / "moved.wav"
    (studio.project / entry["path"]).rename(moved)
    result = studio.run("Import results", studio.scenario(items=[]))
    assert "is missing" in result["messages"][0]["text"]
    assert len(result["tracks"]) == 1
    assert result["projextstate"] == {}
    moved.rename(studio.project / entry["path"])
    result = studio.run("Import results", studio.scenario(items=[]))
    assert len(result["tracks"]) == 2
    assert result["help"] == ["Producer Bridge: imported 1 job(s)"]


def test_import_needs_a_saved_project_and_says_when_nothing_is_there(studio: Studio) -> None:
    result = studio.run("Import results", studio.scenario(saved=False))
    assert "Save the project first" in result["messages"][0]["text"]
    result = studio.run("Import results", studio.scenario())
    assert result["help"] == [
        f"Producer Bridge: no results yet in {studio.project / 'ProducerBridge'}"
    ]


async def test_stems_only_gives_a_folder_of_stems_at_the_item(
    studio: Studio, emulator: EmulatorServer
) -> None:
    write_tone(studio.take, 10.0, rate=44100)
    items = [audio_item(studio.take, position=8.0, length=4.0, offset=0.5)]
    studio.run("Stems only", studio.scenario(items=items, inputs=[]))
    (job,) = await run_requests(emulator, studio.tmp, studio.requests())
    files = manifest(studio, job)["files"]
    assert sorted(entry["kind"] for entry in files) == ["bass", "drums", "other", "vocals"]

    result = studio.run("Import results", studio.scenario(items=items))
    label = f"stems_only {job.id[:8]}"
    assert [(t["name"], t["depth"]) for t in result["tracks"]] == [
        ("Track 1", 0),
        (f"{label} stems", 1),
        ("bass", 0),
        ("drums", 0),
        ("other", 0),
        ("vocals", -1),
    ]
    by_kind = {entry["kind"]: entry for entry in files}
    for track in result["tracks"][2:]:
        (item,) = track["items"]
        (take,) = item["takes"]
        assert item["position"] == 8.0
        assert item["length"] == pytest.approx(seconds(by_kind[track["name"]]))
        assert take["file"] == str(studio.project / by_kind[track["name"]]["path"])
