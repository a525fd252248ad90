"""The drop folder against real files and a real watchdog observer.

The submit callback is a recording fake of the daemon. After every test, each input's bytes
must exist under done/ or failed/ (or, for names the watcher ignores, where they were put).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import Issue, RequestError
from bridge.watch import DropFolder, pending
from tests.conftest import write_tone
from tests.waiting import wait_until

SETTLE = 0.2
PAIR_WAIT = 0.3  # how long a clip and its sidecar wait for each other here
# an en dash, a CJK name and a circled digit; written as an escape for the linter
TAKE = "夏天 \u2013 take ①"
NOTES = "夏天 \u2013 notes ①"
BIG = 1 << 24  # above this, files are compared by size and first bytes, not read whole


def fingerprint(path: Path) -> tuple[int, str]:
    size = path.stat().st_size
    with path.open("rb") as handle:
        data = handle.read(64 if size > BIG else size)
    return size, hashlib.sha256(data).hexdigest()


@dataclass
class Call:
    request: dict[str, Any]
    source: Path
    size: int
    thread: str


@dataclass
class Recorder:
    """The daemon's side: records submits and rejections; fails names listed in `errors`."""

    calls: list[Call] = field(default_factory=list)
    rejected: list[tuple[Path, str]] = field(default_factory=list)
    errors: dict[str, Exception] = field(default_factory=dict)

    def submit(self, request: dict[str, Any], source: Path) -> str:
        size = source.stat().st_size  # the job reads the file from done/: it must be there
        self.calls.append(Call(request, source, size, threading.current_thread().name))
        for key, error in self.errors.items():
            if key in source.name:
                raise error
        return f"job-{len(self.calls)}"

    def on_rejected(self, source: Path, reason: str) -> None:
        self.rejected.append((source, reason))

    def names(self) -> list[str]:
        return [call.source.name for call in self.calls]


@dataclass
class Inputs:
    """Every file a test drops, to check at the end that none was lost."""

    root: Path
    moved: list[tuple[int, str]] = field(default_factory=list)
    in_place: list[Path] = field(default_factory=list)

    def put(self, relative: str, data: bytes, *, stays: bool = False) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.add(path, stays=stays)
        return path

    def add(self, path: Path, *, stays: bool = False) -> None:
        if stays:
            self.in_place.append(path)
        else:
            self.moved.append(fingerprint(path))

    def expect(self, data: bytes) -> None:
        """Bytes a test writes itself, in its own way, that must end in done/ or failed/."""
        self.moved.append((len(data), hashlib.sha256(data).hexdigest()))

    def check(self) -> None:
        handled = Counter(
            fingerprint(path)
            for folder in ("done", "failed")
            for path in (self.root / folder).glob("*")
            if not path.name.endswith(".error.txt")
        )
        missing = Counter(self.moved) - handled
        assert not missing, f"inputs lost: {missing}"
        assert all(path.exists() for path in self.in_place)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def inputs(tmp_path: Path) -> Iterator[Inputs]:
    registry = Inputs(tmp_path / "drop ünï 夏")
    yield registry
    registry.check()


@pytest.fixture
def watch(inputs: Inputs, recorder: Recorder) -> Iterator[Callable[..., DropFolder]]:
    """Start a watcher on `inputs.root`; closed (before `inputs` checks) after the test."""
    made: list[DropFolder] = []

    def start(settle: float = SETTLE, pair_wait: float = PAIR_WAIT) -> DropFolder:
        folder = DropFolder(
            inputs.root,
            settle=settle,
            submit=recorder.submit,
            on_rejected=recorder.on_rejected,
            pair_wait=pair_wait,
        )
        made.append(folder)
        return folder.start()

    yield start
    for folder in made:
        folder.close()


@pytest.fixture
def wav(tmp_path: Path) -> bytes:
    return write_tone(tmp_path / "tone.wav", 0.25, rate=8000, channels=1).read_bytes()


def error_text(root: Path, stem: str) -> str:
    return (root / "failed" / f"{stem}.error.txt").read_text(encoding="utf-8")


def test_folders_are_created_and_closing_twice_is_harmless(
    watch: Callable[..., DropFolder], inputs: Inputs
) -> None:
    drop = watch()
    names = {path.name for path in inputs.root.iterdir()}
    assert names == {*drop.folders, "requests", "done", "failed"}
    assert "create_music" not in drop.folders
    assert drop.folders["extend_music"] == inputs.root / "extend_music"
    drop.close()
    drop.close()
    with pytest.raises(RuntimeError):
        drop.start()


def test_a_slow_writer_is_submitted_once_when_complete(
    watch: Callable[..., DropFolder], inputs: Inputs, recorder: Recorder, tmp_path: Path
) -> None:
    data = write_tone(tmp_path / "long.wav", 2.0).read_bytes()
    watch(settle=0.3)
    target = inputs.root / "extend_music" / "slow take.wav"
    chunks = 13
    step = -(-len(data) // chunks)
    with target.open("wb") as out:  # one writer holding the file open, as a DAW render does
        for start in range(0, len(data), step):
            out.write(data[start : start + step])
            out.flush()
            time.sleep(0.1)
    inputs.expect(data)
    wait_until(lambda: len(recorder.calls) == 1)
    time.sleep(0.6)  # a second submit would have come by now
    assert len(recorder.calls) == 1
    call = recorder.calls[0]
    assert call.size == len(data)
    assert call.thread == "drop-folder"
    assert call.source == inputs.root / "done" / "slow take.wav"
    assert call.source.read_bytes() == data


def test_non_audio_and_empty_files_are_rejected(
    watch: Callable[..., DropFolder], inputs: Inputs, recorder: Recorder
) -> None:
    watch()
    inputs.put("extend_music/notes.txt", b"remember the bridge")
    inputs.put("cover_music/empty.wav", b"")
    inputs.put("loose.wav", b"RIFF")
    wait_until(lambda: len(recorder.rejected) == 3)
    failed = inputs.root / "failed"
    assert "not an audio file: notes.txt (expected .wav, " in error_text(inputs.root, "notes")
    assert "empty file: empty.wav has 0 bytes" in error_text(inputs.root, "empty")
    assert "put it in one of the action folders" in error_text(inputs.root, "loose")
    assert {source for source, _ in recorder.rejected} == {
        failed / "notes.txt",
        failed / "empty.wav",
        failed / "loose.wav",
    }
    assert recorder.calls == []


def test_a_huge_sparse_wav_is_moved_without_being_read(
    watch: Callable[..., DropFolder], inputs: Inputs, recorder: Recorder, wav: bytes
) -> None:
    size = 3 << 30
    path = inputs.put("replace_music/huge.wav", wav[:44])
    os.truncate(path, size)
    if path.stat().st_blocks * 512 > 1 << 20:
        pytest.skip("this filesystem has no sparse files")
    inputs.moved[-1] = fingerprint(path)
    started = time.monotonic()
    watch()
    wait_until(lambda: len(recorder.calls) == 1)
    assert time.monotonic() - started < 3.0
    done = inputs.root / "done" / "huge.wav"
    assert recorder.calls[0].size == size
    assert done.stat().st_blocks * 512 <= 1 << 20  # still sparse: moved, not copied


def test_non_ascii_names_work_everywhere(
    watch: Callable[..., DropFolder], inputs: Inputs, recorder: Recorder, wav: bytes
) -> None:
    watch()
    inputs.put(f"cover_music/{TAKE}.json", json.dumps({"lyrics": "夏天"}).encode())
    inputs.put(f"cover_music/{TAKE}.wav", wav)
    inputs.put(f"cover_music/{NOTES}.txt", "夏天".encode())
    wait_until(lambda: len(recorder.calls) == 1 and len(recorder.rejected) == 1)
    call = recorder.calls[0]
    assert call.source.name == f"{TAKE}.wav"
    assert call.request["lyrics"] == "夏天"
    assert (inputs.root / "done" / f"{TAKE}.json").exists()
    assert f"not an audio file: {NOTES}.txt" in error_text(inputs.root, NOTES)


def test_a_sidecar_is_merged_even_when_written_just_after_the_audio(
    watch: Callable[..., DropFolder], inputs: Inputs, recorder: Recorder, wav: bytes
) -> None:
    watch()
    sidecar = {
        "prompts": [{"text": "warm analog synth", "strength": 0.7, "timeStart": 1.0}],
        "params": {"seed": 42},
        "clip": {"itemPosition": 12.5, "takeOffset": 0.5, "path": "/not/this.wav"},
        "selection": {"start": 13.0, "end": 15.0},
    }
    inputs.put("replace_music/take.wav", wav)
    time.sleep(SETTLE / 3)
    inputs.put("replace_music/take.json", json.dumps(sidecar).encode())
    wait_until(lambda: len(recorder.calls) == 1)
    done = inputs.root / "done"
    assert recorder.calls[0].request == {
        **sidecar,
        "version": 1,
        "action": "replace_music",
        "clip": {"itemPosition": 12.5, "takeOffset": 0.5, "path": str(done / "take.wav")},
    }
    assert recorder.calls[0].source == done / "take.wav"
    assert (done / "take.json").exists()


def test_a_sidecar_naming_another_action_is_rejected(
    watch: Callable[..., DropFolder], inputs: Inputs, recorder: Recorder, wav: bytes
) -> None:
    watch()
    inputs.put("extend_music/take.json", b'{"action": "cover_music"}')
    inputs.put("extend_music/take.wav", wav)
    wait_until(lambda: len(recorder.rejected) == 1)
    assert "the folder decides" in error_text(inputs.root, "take")
    assert (inputs.root / "failed" / "take.json").exists()
    assert recorder.calls == []


def test_a_sidecar_with_bad_json_is_rejected_with_its_position(
    watch: Callable[..., DropFolder], inputs: Inputs, recorder: Recorder, wav: bytes
) -> None:
    watch()
    inputs.put("music_variation/take.json", b'{\n  "prompts": [}\n')
    inputs.put("music_variation/take.wav", wav)
    wait_until(lambda: len(recorder.rejected) == 1)
    text = error_text(inputs.root, "take")
    assert "take.json is not valid JSON" in text
    assert "at line 2, column 15" in text
    assert (inputs.root / "failed" / "take.wav").exists()
    assert (inputs.root / "failed" / "take.json").exists()


def test_a_request_holding_an_integer_of_thousands_of_digits_is_refused_by_name(
    watch: Callable[..., DropFolder], inputs: Inputs, recorder: Recorder
) -> None:
    watch()
    inputs.put("requests/seed.json", b'{"version": 1, "params": {"seed": 1' + b"0" * 5000 + b"}}")
    wait_until(lambda: len(recorder.rejected) == 1)
    assert "seed.json holds an integer of over 4300 digits" in error_text(inputs.root, "seed")
    assert recorder.calls == []


def test_a_sidecar_that_comes_after_its_clip_has_settled_is_still_paired_with_it(
    watch: Callable[..., DropFolder], inputs: Inputs, recorder: Recorder, wav: bytes
) -> None:
    watch(pair_wait=2.0)
    inputs.put("cover_music/late.wav", wav)
    settled = time.monotonic() + 2 * SETTLE
    wait_until(lambda: time.monotonic() > settled, what="the clip to settle alone")
    assert recorder.calls == []  # it waits for a sidecar a little longer
    inputs.put("cover_music/late.json", b'{"prompts": [{"text": "brighter"}]}')
    wait_until(lambda: len(recorder.calls) == 1)
    (call,) = recorder.calls
    assert call.request["prompts"] == [{"text": "brighter"}]
    assert call.source.name == "late.wav"
    assert (inputs.root / "done" / "late.json").exists()


def test_a_sidecar_no_clip_comes_for_goes_to_failed_saying_why(
    watch: Callable[..., DropFolder], inputs: Inputs, recorder: Recorder
) -> None:
    watch()
    inputs.put("cover_music/orphan.json", b'{"prompts": [{"text": "brighter"}]}')
    wait_until(lambda: len(recorder.rejected) == 1)
    text = error_text(inputs.root, "orphan")
    assert "orphan.json is a sidecar, but no audio file named orphan" in text
    assert f"within {SETTLE + PAIR_WAIT:g} s" in text
    assert (inputs.root / "failed" / "orphan.json").exists()
    assert recorder.calls == []


def test_files_present_before_start_are_processed(
    watch: Callable[..., DropFolder], inputs: Inputs, recorder: Recorder, wav: bytes
) -> None:
    inputs.put("swap_music_vocals/early.wav", wav)
    inputs.put("requests/early.json", b'{"version": 1, "action": "create_music"}')
    inputs.put("early.txt", b"in the wrong place")
    watch()
    wait_until(lambda: len(recorder.calls) == 2 and len(recorder.rejected) == 1)
    assert sorted(recorder.names()) == ["early.json", "early.wav"]


def test_temporary_names_are_ignored_until_renamed(
    watch: Callable[..., DropFolder], inputs: Inputs, recorder: Recorder, wav: bytes
) -> None:
    watch()
    for name in ("take.wav.part", ".hidden.wav", "~lock.wav", "x.crdownload", "y.tmp"):
        inputs.put(f"extend_music/{name}", wav, stays=name != "take.wav.part")
    time.sleep(SETTLE * 3)
    assert recorder.calls == []
    assert recorder.rejected == []
    part = inputs.root / "extend_music" / "take.wav.part"
    part.rename(part.with_name("take.wav"))
    wait_until(lambda: len(recorder.calls) == 1)
    assert recorder.names() == ["take.wav"]


def test_name_collisions_get_unique_names_and_nothing_is_overwritten(
    watch: Callable[..., DropFolder], inputs: Inputs, recorder: Recorder, wav: bytes
) -> None:
    inputs.put("done/take.wav", b"an older take", stays=True)
    inputs.put("done/take (2).json", b'{"older": true}', stays=True)
    inputs.put("failed/notes.error.txt", b"an older report", stays=True)
    watch()
    inputs.put("extend_music/take.json", b'{"lyrics": "new"}')
    inputs.put("extend_music/take.wav", wav)
    inputs.put("cover_music/notes.txt", b"new notes")
    wait_until(lambda: len(recorder.calls) == 1 and len(recorder.rejected) == 1)
    done, failed = inputs.root / "done", inputs.root / "failed"
    assert (done / "take.wav").read_bytes() == b"an older take"
    assert (done / "take (2).json").read_bytes() == b'{"older": true}'
    assert recorder.calls[0].source == done / "take (3).wav"
    assert (done / "take (3).json").read_bytes() == b'{"lyrics": "new"}'
    assert (failed / "notes.error.txt").read_bytes() == b"an older report"
    assert (failed / "notes (2).txt").read_bytes() == b"new notes"
    assert "not an audio file" in error_text(inputs.root, "notes (2)")


def test_request_files_are_passed_on_as_they_are(
    watch: Callable[..., DropFolder], inputs: Inputs, recorder: Recorder
) -> None:
    request = {
        "version": 1,
        "action": "extend_music",
        "clip": {"path": "/projects/song/take.wav", "itemPosition": 3.0},
        "params": {"continueAt": 8.0, "extendDuration": 30},
        "project": {"folder": "/projects/song", "sampleRate": 48000},
    }
    watch()
    inputs.put("requests/from reaper.json", json.dumps(request).encode())
    wait_until(lambda: len(recorder.calls) == 1)
    assert recorder.calls[0].request == request
    assert recorder.calls[0].source == inputs.root / "done" / "from reaper.json"


def test_a_refused_submit_moves_the_input_to_failed(
    watch: Callable[..., DropFolder],
    inputs: Inputs,
    recorder: Recorder,
    wav: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    issue = Issue("prompts[0].strength", "must be between 0.2 and 1 (got 5)")
    recorder.errors["bad"] = RequestError([issue])
    watch()
    inputs.put("cover_music/bad.json", b'{"prompts": [{"text": "x", "strength": 5}]}')
    inputs.put("cover_music/bad.wav", wav)
    inputs.put("requests/bad job.json", b'{"version": 1, "action": "create_music"}')
    with caplog.at_level(logging.WARNING, logger="bridge.watch"):
        wait_until(lambda: len(recorder.rejected) == 2)
    failed = inputs.root / "failed"
    for stem in ("bad", "bad job"):
        assert "prompts[0].strength: must be between 0.2 and 1 (got 5)" in error_text(
            inputs.root, stem
        )
    assert (failed / "bad.wav").exists()
    assert (failed / "bad.json").exists()
    assert (failed / "bad job.json").exists()
    assert not list((inputs.root / "done").iterdir())
    assert {source for source, _ in recorder.rejected} == {
        failed / "bad.wav",
        failed / "bad job.json",
    }
    assert sum("rejected" in record.message for record in caplog.records) == 2


def test_an_unexpected_submit_error_is_reported_and_the_watcher_carries_on(
    watch: Callable[..., DropFolder], inputs: Inputs, recorder: Recorder, wav: bytes
) -> None:
    recorder.errors["crash"] = ValueError("boom")
    watch()
    inputs.put("extend_music/crash.wav", wav)
    wait_until(lambda: len(recorder.rejected) == 1)
    assert "internal error: ValueError: boom" in error_text(inputs.root, "crash")
    inputs.put("extend_music/after.wav", wav)
    wait_until(lambda: "after.wav" in recorder.names())


def test_every_input_is_submitted_exactly_once(
    watch: Callable[..., DropFolder], inputs: Inputs, recorder: Recorder, wav: bytes
) -> None:
    watch()
    for index in range(12):
        path = inputs.put(f"music_variation/take {index}.wav", wav)
        os.utime(path)  # more events for the same files
    wait_until(lambda: len(recorder.calls) == 12)
    time.sleep(SETTLE * 2)
    assert sorted(recorder.names()) == sorted(f"take {index}.wav" for index in range(12))


# ----------------------------------------------------------- a stop between take and job


def taken_before_a_stop(root: Path, folder: str, name: str, data: bytes, **sidecar: Any) -> Path:
    """What a daemon stopped right after moving an input leaves: a marker, and the input in
    done/ under the name the move gave it."""
    dropped = root / folder / name
    dropped.parent.mkdir(parents=True, exist_ok=True)
    dropped.write_bytes(data)
    pending.write(
        root / "done",
        dropped,
        kind="clip" if folder != "requests" else "request",
        folder=folder,
        sidecar=sidecar or None,
    )
    moved = root / "done" / name.replace(".", " (2).", 1)
    os.link(dropped, moved)
    dropped.unlink()
    return moved


def test_an_input_taken_just_before_a_stop_is_handed_over_at_the_next_start(
    watch: Callable[..., DropFolder], inputs: Inputs, recorder: Recorder, wav: bytes
) -> None:
    inputs.expect(wav)
    moved = taken_before_a_stop(
        inputs.root, "cover_music", f"{TAKE}.wav", wav, prompts=[{"text": "bossa nova"}]
    )
    request = json.dumps({"version": 1, "action": "create_music"}).encode()
    inputs.expect(request)
    moved_request = taken_before_a_stop(inputs.root, "requests", "song.json", request)
    watch()
    wait_until(lambda: len(recorder.calls) == 2)
    by_source = {call.source: call.request for call in recorder.calls}
    assert by_source[moved]["clip"]["path"] == str(moved)
    assert by_source[moved]["prompts"] == [{"text": "bossa nova"}]
    assert by_source[moved_request] == {"version": 1, "action": "create_music"}
    assert not [p for p in (inputs.root / "done").iterdir() if p.name.startswith(".pending")]


def test_a_marker_whose_input_never_moved_is_dropped_and_the_input_taken_as_usual(
    watch: Callable[..., DropFolder], inputs: Inputs, recorder: Recorder, wav: bytes
) -> None:
    dropped = inputs.put("music_variation/loop.wav", wav)
    pending.write(inputs.root / "done", dropped, kind="clip", folder="music_variation")
    watch()
    wait_until(lambda: len(recorder.calls) == 1)
    time.sleep(3 * SETTLE)
    assert recorder.names() == ["loop.wav"]  # once, from its own folder
    assert not [p for p in (inputs.root / "done").iterdir() if p.name.startswith(".pending")]


def test_markers_and_reports_cut_short_by_a_stop_are_removed_at_start(
    watch: Callable[..., DropFolder], inputs: Inputs, recorder: Recorder, wav: bytes
) -> None:
    done, failed = inputs.root / "done", inputs.root / "failed"
    done.mkdir(parents=True)
    failed.mkdir()
    torn_marker = done / f".{pending.PREFIX}0123abcd.json.89abcdef.tmp"
    torn_report = failed / ".song.error.txt.89abcdef.tmp"
    torn_marker.write_bytes(b'{"kind": "cl')
    torn_report.write_bytes(b"refused: ")
    kept = [done / "take.wav", failed / "song.json", failed / "song.error.txt"]
    for path in kept:
        path.write_bytes(b"the user's")
    dropped = inputs.put("music_variation/loop.wav", wav)  # the torn marker's input
    watch()
    wait_until(lambda: not torn_marker.exists() and not torn_report.exists())
    wait_until(lambda: recorder.names() == ["loop.wav"])
    assert not dropped.exists()
    assert all(path.read_bytes() == b"the user's" for path in kept)


def test_a_normal_take_leaves_no_marker_behind(
    watch: Callable[..., DropFolder], inputs: Inputs, recorder: Recorder, wav: bytes
) -> None:
    watch()
    inputs.put("extend_music/a.wav", wav)
    wait_until(lambda: sorted(p.name for p in (inputs.root / "done").iterdir()) == ["a.wav"])
    assert recorder.names() == ["a.wav"]
