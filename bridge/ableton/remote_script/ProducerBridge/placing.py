"""What the daemon's `place` does: each result as a new audio clip on a new track, at its
beat in the Arrangement, in one undo step (Live 12.0.5 and later); on older Live, nothing,
and an answer that says the results stay in their folder."""

from typing import Any

import Live

# Track.create_audio_clip (and the same on take lanes) arrived in Live 12.0.5.
FIRST_PLACING = (12, 0, 5)


def version(app: Any) -> tuple[int, int, int]:
    return (
        int(app.get_major_version()),
        int(app.get_minor_version()),
        int(app.get_bugfix_version()),
    )


def version_text(app: Any) -> str:
    return ".".join(str(part) for part in version(app))


def place(song: Any, app: Any, message: dict[str, Any]) -> dict[str, Any]:
    clips = message["clips"]
    folder = str(message.get("folder", ""))
    if version(app) < FIRST_PLACING:
        return {
            "placed": "folder",
            "message": f"Live {version_text(app)} cannot put audio on the timeline from a "
            f"script (Live 12.0.5 and later can): the results are in {folder}; drag them in "
            "from Live's browser",
        }
    tracks = len(list(song.tracks))
    after = int(message.get("after", -1))
    first = after + 1 if 0 <= after < tracks else tracks
    song.begin_undo_step()
    try:
        for offset, item in enumerate(clips):
            _place_one(song, first + offset, item)
    finally:
        song.end_undo_step()
    return {"placed": "arrangement", "message": f"{len(clips)} clip(s) on new tracks"}


def _place_one(song: Any, index: int, item: dict[str, Any]) -> None:
    song.create_audio_track(index)
    track = song.tracks[index]
    track.name = str(item["track"])
    clip = track.create_audio_clip(str(item["path"]), float(item["beat"]))
    if not item.get("warping"):
        clip.warping = False  # plays at the file's own speed, as the source clip did
        return
    clip.warping = True
    for beat, seconds in item.get("markers", []):
        clip.add_warp_marker(Live.Clip.WarpMarker(beat_time=beat, sample_time=seconds))
