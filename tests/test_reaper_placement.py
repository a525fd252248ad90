"""Where "Import results" puts what the real pipeline wrote, under the strict fake REAPER:
new takes play like the original take (rate, pitch, pitch mode, channels), result tracks
never fall into a folder they were not meant for, and every new source has its peaks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bridge.emulator.server import EmulatorServer
from tests.conftest import write_tone
from tests.reaper_fixtures import Studio, audio_item
from tests.test_reaper_import import run_requests

SOUND = {"playrate": 1.5, "preserve_pitch": 1, "pitch": 2.0, "pitch_mode": 589825, "chan_mode": 3}


@pytest.fixture
def studio(tmp_path: Path) -> Studio:
    return Studio(tmp_path)


def sound_of(take: dict[str, Any]) -> dict[str, Any]:
    return {key: take[key] for key in SOUND}


def new_takes(result: dict[str, Any], studio: Studio) -> list[dict[str, Any]]:
    return [
        take
        for track in result["tracks"]
        for item in track["items"]
        for take in item["takes"]
        if take["file"] != str(studio.take)
    ]


async def test_a_new_take_plays_like_the_original_and_has_its_peaks(
    studio: Studio, emulator: EmulatorServer
) -> None:
    write_tone(studio.take, 12.0, rate=48000)
    items = [audio_item(studio.take, position=20.0, length=4.0, offset=1.0, **SOUND)]
    studio.run(
        "Replace time selection",
        studio.scenario(items=items, selection=(21, 22), inputs=[["strings", "0.5", ""]]),
    )
    await run_requests(emulator, studio.tmp, studio.requests())
    result = studio.run("Import results", studio.scenario(items=items))
    assert result["error"] is None
    (track,) = result["tracks"]
    original, new = track["items"][0]["takes"]
    assert sound_of(new) == sound_of(original) == SOUND
    assert new["peaks"] == "built"
    assert original["peaks"] == "none"  # the original's source is left alone


async def test_result_and_stem_tracks_play_like_the_original_too(
    studio: Studio, emulator: EmulatorServer
) -> None:
    write_tone(studio.take, 10.0, rate=44100)
    items = [audio_item(studio.take, position=8.0, length=4.0, offset=0.5, **SOUND)]
    studio.extstate["ProducerBridge"].update(import_as="tracks", stems="1")
    studio.run("Swap instrumental", studio.scenario(items=items, inputs=[["disco", "0.9", ""]]))
    await run_requests(emulator, studio.tmp, studio.requests())
    result = studio.run("Import results", studio.scenario(items=items))
    takes = new_takes(result, studio)
    assert len(takes) == 5  # the result and four stems
    assert all(sound_of(take) == SOUND for take in takes)
    assert all(take["peaks"] == "built" for take in takes)


def track(name: str, depth: int, items: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"name": name, "depth": depth, "items": items or []}


async def import_swap_with_stems(
    studio: Studio, emulator: EmulatorServer, tracks: list[dict[str, Any]]
) -> list[tuple[str, int, str | None]]:
    """Swap instrumental on the one item in `tracks`, imported as tracks with stems:
    (name, depth, folder) of every track after the import, the job's label as "result"."""
    write_tone(studio.take, 10.0, rate=44100)
    studio.extstate["ProducerBridge"].update(import_as="tracks", stems="1")
    studio.run("Swap instrumental", studio.scenario(tracks=tracks, inputs=[["disco", "0.9", ""]]))
    (job,) = await run_requests(emulator, studio.tmp, studio.requests())
    result = studio.run("Import results", studio.scenario(tracks=tracks))
    assert result["error"] is None
    label = f"swap_music_sound {job.id[:8]}"
    named = {label: "result", f"{label} stems": "result stems"}
    return [
        (named.get(t["name"], t["name"]), t["depth"], named.get(t["folder"], t["folder"]))
        for t in result["tracks"]
    ]


STEMS = [("bass", 0, "result stems"), ("drums", 0, "result stems"), ("other", 0, "result stems")]


async def test_results_of_a_folders_parent_go_after_its_folder_not_into_it(
    studio: Studio, emulator: EmulatorServer
) -> None:
    tracks = [
        track("Band", 1, [audio_item(studio.take, position=8.0, length=4.0, offset=0.5)]),
        track("Guitar", -1),
        track("After", 0),
    ]
    assert await import_swap_with_stems(studio, emulator, tracks) == [
        ("Band", 1, None),
        ("Guitar", -1, "Band"),  # the folder keeps exactly its child
        ("result", 0, None),
        ("result stems", 1, None),
        *STEMS,
        ("vocals", -1, "result stems"),
        ("After", 0, None),
    ]


async def test_results_of_a_folders_last_track_stay_beside_it_in_that_folder(
    studio: Studio, emulator: EmulatorServer
) -> None:
    tracks = [
        track("Drums", 1),
        track("Kick", 0),
        track("Loop", -1, [audio_item(studio.take, position=8.0, length=4.0, offset=0.5)]),
        track("Bass", 0),
    ]
    assert await import_swap_with_stems(studio, emulator, tracks) == [
        ("Drums", 1, None),
        ("Kick", 0, "Drums"),
        ("Loop", 0, "Drums"),
        ("result", 0, "Drums"),
        ("result stems", 1, "Drums"),
        *[(name, depth, folder) for name, depth, folder in STEMS],
        ("vocals", -2, "result stems"),  # closes its own folder and the source's
        ("Bass", 0, None),  # what was outside the folder stays outside
    ]


async def test_results_inside_nested_folders_close_only_what_the_source_closed(
    studio: Studio, emulator: EmulatorServer
) -> None:
    tracks = [
        track("Song", 1),
        track("Drums", 1),
        track("Loop", -2, [audio_item(studio.take, position=8.0, length=4.0, offset=0.5)]),
        track("Vox", 0),
    ]
    placed = await import_swap_with_stems(studio, emulator, tracks)
    assert placed[:4] == [
        ("Song", 1, None),
        ("Drums", 1, "Song"),
        ("Loop", 0, "Drums"),
        ("result", 0, "Drums"),
    ]
    assert placed[-2:] == [("vocals", -3, "result stems"), ("Vox", 0, None)]
