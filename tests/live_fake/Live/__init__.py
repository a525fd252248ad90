"""A fake of Live's `Live` module, for loading our remote script without Live.

Built from the Live Object Model documentation: every public name any object here offers
is listed, with where it is documented, in tests/live_fake/live_api_names.txt
(tests/test_ableton_script.py keeps the two equal). Reading or writing anything else raises,
as it would in a Live that lacks it: a fake Live 11 has no Track.create_audio_clip.

One Set per process: `Application.get_application()` returns the fake application, whose
`document` the test builds.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, ClassVar


class _Lom:
    """Only the names a class lists in SETTABLE can be written, and nothing else read."""

    SETTABLE: ClassVar[frozenset[str]] = frozenset()

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"the fake Live offers no {type(self).__name__}.{name}")

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_") and name not in self.SETTABLE:
            raise AttributeError(f"{type(self).__name__}.{name} cannot be set in Live")
        object.__setattr__(self, name, value)

    def _init(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)


class WarpMarker(_Lom):
    def __init__(self, beat_time: float, sample_time: float) -> None:
        self._init(beat_time=float(beat_time), sample_time=float(sample_time))


class Clip(_Lom):
    SETTABLE = frozenset({"name", "warping"})

    def __init__(self, file_path: str = "", **values: Any) -> None:
        defaults: dict[str, Any] = {
            "name": "",
            "is_audio_clip": True,
            "is_arrangement_clip": True,
            "file_path": file_path,
            "start_time": 0.0,
            "end_time": 4.0,
            "start_marker": 0.0,
            "end_marker": 4.0,
            "loop_start": 0.0,
            "loop_end": 4.0,
            "looping": False,
            "warping": True,
            "warp_markers": (WarpMarker(0.0, 0.0), WarpMarker(4.0, 2.0)),
            "sample_rate": 48000.0,
            "sample_length": 96000,
        }
        self._init(**{**defaults, **values})

    def add_warp_marker(self, warp_marker: WarpMarker) -> None:
        kept = [m for m in self.warp_markers if m.beat_time != warp_marker.beat_time]
        markers = sorted([*kept, warp_marker], key=lambda m: m.beat_time)
        object.__setattr__(self, "warp_markers", tuple(markers))


_ClipClass = Clip


class DeviceParameter(_Lom):
    def __init__(self, automation_state: int = 0) -> None:
        self._init(automation_state=automation_state)


class MixerDevice(_Lom):
    def __init__(self) -> None:
        self._init(song_tempo=DeviceParameter())


class Track(_Lom):
    SETTABLE = frozenset({"name"})

    def __init__(self, name: str, clips: tuple[Clip, ...] = (), is_frozen: bool = False) -> None:
        self._init(
            name=name,
            is_frozen=is_frozen,
            arrangement_clips=tuple(clips),
            mixer_device=MixerDevice(),
        )

    def create_audio_clip(self, file_path: str, position: float) -> Clip:
        if _APPLICATION._version < (12, 0, 5):
            raise AttributeError("the fake Live offers no Track.create_audio_clip before 12.0.5")
        clip = _ClipClass(file_path, start_time=float(position), warp_markers=())
        clip._undo_step = _APPLICATION._document._undo_steps if _APPLICATION._document else -1
        clip._inside_undo_step = bool(_APPLICATION._document and _APPLICATION._document._in_undo)
        object.__setattr__(self, "arrangement_clips", (*self.arrangement_clips, clip))
        return clip


class SongView(_Lom):
    SETTABLE = frozenset({"selected_track", "detail_clip"})

    def __init__(self, selected_track: Track | None, detail_clip: Clip | None) -> None:
        self._init(selected_track=selected_track, detail_clip=detail_clip)


class Song(_Lom):
    SETTABLE = frozenset({"tempo", "loop", "loop_start", "loop_length"})

    def __init__(self, tracks: list[Track], view: SongView, **values: Any) -> None:
        defaults = {"tempo": 120.0, "loop": False, "loop_start": 0.0, "loop_length": 16.0}
        self._init(tracks=tuple(tracks), view=view, master_track=Track("Main"))
        self._init(**{**defaults, **values})
        self._in_undo = False
        self._undo_steps = 0

    def create_audio_track(self, index: int) -> None:
        tracks = list(self.tracks)
        index = len(tracks) if index == -1 else index
        if not 0 <= index <= len(tracks):
            raise IndexError(f"create_audio_track: index {index} out of range")
        tracks.insert(index, Track(f"{index + 1}-Audio"))
        object.__setattr__(self, "tracks", tuple(tracks))

    def begin_undo_step(self) -> None:
        self._in_undo = True

    def end_undo_step(self) -> None:
        self._in_undo = False
        self._undo_steps += 1


class _Application(_Lom):
    def __init__(self) -> None:
        self._version = (12, 1, 5)
        self._document: Song | None = None

    def get_major_version(self) -> int:
        return self._version[0]

    def get_minor_version(self) -> int:
        return self._version[1]

    def get_bugfix_version(self) -> int:
        return self._version[2]


_APPLICATION = _Application()


def _get_application() -> _Application:
    return _APPLICATION


def _open(song: Song, version: tuple[int, int, int] = (12, 1, 5)) -> CInstance:
    """Open `song` in a fake Live of `version`; what Live would hand the script."""
    _APPLICATION._version = version
    _APPLICATION._document = song
    return CInstance()


class CInstance(_Lom):
    """What Live hands `create_instance`: the script's way to its Set and the status bar."""

    def __init__(self) -> None:
        self._messages: list[str] = []

    def handle(self) -> int:
        return 7

    def song(self) -> Song:
        assert _APPLICATION._document is not None
        return _APPLICATION._document

    def show_message(self, message: str) -> None:
        self._messages.append(message)


# What the script asked to receive: ("note" | "cc", channel, number) per MIDI map handle.
_FORWARDED: set[tuple[str, int, int]] = set()


def _forward_midi_note(
    c_instance_handle: int, midi_map_handle: int, channel: int, note: int
) -> None:
    _FORWARDED.add(("note", channel, note))


def _forward_midi_cc(c_instance_handle: int, midi_map_handle: int, channel: int, cc: int) -> None:
    _FORWARDED.add(("cc", channel, cc))


def _forwarded(midi_bytes: tuple[int, ...]) -> bool:
    """Whether Live would hand `midi_bytes` to the script's receive_midi."""
    kind = {0x90: "note", 0x80: "note", 0xB0: "cc"}.get(midi_bytes[0] & 0xF0)
    return (kind, midi_bytes[0] & 0x0F, midi_bytes[1]) in _FORWARDED


Application = SimpleNamespace(get_application=_get_application)
MidiMap = SimpleNamespace(forward_midi_note=_forward_midi_note, forward_midi_cc=_forward_midi_cc)
Clip = SimpleNamespace(Clip=_ClipClass, WarpMarker=WarpMarker)
