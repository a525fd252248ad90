"""Moving a dropped clip and its sidecar: whatever fails, the two are never split and the
clip exists once. Real files in real folders; the failures are the filesystem's own.

Where a failure needs another writer to act at one precise moment (a name taken between
the check and the move), that writer is played by a wrapper around `moves._publish` that
creates the file on disk just before the move it races; the refusal is still the
filesystem's.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bridge.watch import moves
from bridge.watch.drop import Group

CLIP = b"RIFF the take"
SIDECAR = b'{"prompts": [{"text": "brighter"}]}'


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "drop" / "cover_music"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def done(tmp_path: Path) -> Path:
    return tmp_path / "drop" / "done"


def dropped(folder: Path, stem: str = "take") -> Group:
    """A clip and its sidecar, as the user dropped them."""
    clip, sidecar = folder / f"{stem}.wav", folder / f"{stem}.json"
    clip.write_bytes(CLIP)
    sidecar.write_bytes(SIDECAR)
    return Group(stem, (clip, sidecar))


def files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir()} if folder.is_dir() else {}


@contextmanager
def immutable(path: Path) -> Iterator[None]:
    """`path` with the immutable attribute: no link to it, rename, or removal of its entries
    (for a folder) succeeds, even for root. Skips where that cannot be set."""
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("chattr not installed: apt-get install e2fsprogs")
    made = subprocess.run([chattr, "+i", str(path)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot make {path.name} immutable here: {made.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def racing(
    monkeypatch: pytest.MonkeyPatch, before: Callable[[Path, Path], None]
) -> list[tuple[str, str]]:
    """Call `before(source, target)` just before each member moves; returns the moves tried."""
    tried: list[tuple[str, str]] = []
    real = moves._publish

    def publish(source: Path, target: Path) -> None:
        tried.append((source.name, target.name))
        before(source, target)
        real(source, target)

    monkeypatch.setattr(moves, "_publish", publish)
    return tried


def test_a_clip_and_its_sidecar_move_together_under_the_first_free_stem(
    drop: Path, done: Path
) -> None:
    done.mkdir()
    (done / "take.json").write_text("an earlier job's sidecar")
    moved = moves.move_group(dropped(drop), done, stem="take")
    assert moved == Group("take (2)", (done / "take (2).wav", done / "take (2).json"))
    assert files(drop) == {}
    assert files(done) == {
        "take.json": b"an earlier job's sidecar",
        "take (2).wav": CLIP,
        "take (2).json": SIDECAR,
    }


def test_when_the_sidecar_cannot_move_the_clip_goes_back_beside_it(
    drop: Path, done: Path
) -> None:
    group = dropped(drop)
    with immutable(group.paths[1]), pytest.raises(PermissionError):
        moves.move_group(group, done, stem="take")
    assert files(drop) == {"take.wav": CLIP, "take.json": SIDECAR}
    assert files(done) == {}


def test_a_sidecar_removed_during_the_move_leaves_the_clip_where_the_user_put_it(
    drop: Path, done: Path
) -> None:
    group = dropped(drop)
    group.paths[1].unlink()  # the user took the sidecar back after it was seen
    with pytest.raises(FileNotFoundError):
        moves.move_group(group, done, stem="take")
    assert files(drop) == {"take.wav": CLIP}
    assert files(done) == {}


def test_a_clip_that_cannot_leave_its_folder_is_not_left_in_both(drop: Path, done: Path) -> None:
    # The link into done/ succeeds and removing the original fails: the new link is taken
    # back, so the clip exists once, where the user put it.
    group = dropped(drop)
    with immutable(drop), pytest.raises(PermissionError):
        moves.move_group(group, done, stem="take")
    assert files(drop) == {"take.wav": CLIP, "take.json": SIDECAR}
    assert files(done) == {}


def test_a_name_taken_during_the_move_sends_the_whole_group_to_the_next_stem(
    drop: Path, done: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def other_writer(source: Path, target: Path) -> None:
        if target.name == "take.json":  # free a moment ago, taken now
            target.write_text("another writer's file")

    tried = racing(monkeypatch, other_writer)
    moved = moves.move_group(dropped(drop), done, stem="take")
    assert moved.stem == "take (2)"
    assert files(done) == {
        "take.json": b"another writer's file",
        "take (2).wav": CLIP,
        "take (2).json": SIDECAR,
    }
    assert files(drop) == {}
    assert tried == [
        ("take.wav", "take.wav"),
        ("take.json", "take.json"),  # refused: the other writer got there first
        ("take.wav", "take (2).wav"),  # the clip follows its sidecar to the new stem
        ("take.json", "take (2).json"),
    ]


def test_a_writer_that_wins_every_race_leaves_the_group_where_it_was(
    drop: Path, done: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def other_writer(source: Path, target: Path) -> None:
        if target.suffix == ".json":
            target.write_text("another writer's file")

    racing(monkeypatch, other_writer)
    with pytest.raises(OSError, match=r"no free name for take\.wav"):
        moves.move_group(dropped(drop), done, stem="take")
    assert files(drop) == {"take.wav": CLIP, "take.json": SIDECAR}
    assert not [name for name in files(done) if name.endswith(".wav")]


def test_a_clip_that_cannot_go_back_stays_whole_in_done_and_is_logged(
    drop: Path, done: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def user(source: Path, target: Path) -> None:
        if target.name == "take.json":  # the clip has moved: a new take lands under its name
            (drop / "take.wav").write_bytes(b"RIFF a new take")
            source.unlink()  # and the sidecar is gone, so the group cannot move on

    racing(monkeypatch, user)
    with (
        caplog.at_level(logging.ERROR, logger="bridge.watch.moves"),
        pytest.raises(FileNotFoundError),
    ):
        moves.move_group(dropped(drop), done, stem="take")
    assert files(drop) == {"take.wav": b"RIFF a new take"}
    assert files(done) == {"take.wav": CLIP}  # nothing lost, nothing overwritten
    (record,) = caplog.records
    assert "could not go back" in record.getMessage()
    assert str(drop / "take.wav") in record.getMessage()
