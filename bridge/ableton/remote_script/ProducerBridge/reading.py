"""What the daemon's `read` answers: Live's own values, in Live's units (see the LOM)."""

from typing import Any


def snapshot(song: Any) -> dict[str, Any]:
    """The song, the selected track and the clip in the Clip View."""
    view = song.view
    clip = view.detail_clip
    return {
        "song": song_facts(song),
        "track": track_facts(song, view.selected_track),
        "clip": clip_facts(clip) if clip is not None else None,
    }


def song_facts(song: Any) -> dict[str, Any]:
    tempo = song.master_track.mixer_device.song_tempo
    return {
        "tempo": float(song.tempo),
        "loop": bool(song.loop),
        "loopStart": float(song.loop_start),
        "loopLength": float(song.loop_length),
        # 0: no automation; 1 active, 2 overridden: there is automation either way
        "tempoAutomated": tempo.automation_state != 0,
    }


def track_facts(song: Any, track: Any) -> dict[str, Any] | None:
    if track is None:
        return None
    tracks = list(song.tracks)
    index = tracks.index(track) if track in tracks else -1
    # Return and main tracks cannot be frozen (and are not in song.tracks).
    frozen = bool(track.is_frozen) if index >= 0 else False
    return {"name": str(track.name), "index": index, "frozen": frozen}


def clip_facts(clip: Any) -> dict[str, Any]:
    audio = bool(clip.is_audio_clip)
    facts: dict[str, Any] = {
        "name": str(clip.name),
        "audio": audio,
        "arrangement": bool(clip.is_arrangement_clip),
        "path": "",
        "startTime": float(clip.start_time),
        "endTime": float(clip.end_time),
        "startMarker": float(clip.start_marker),
        "endMarker": float(clip.end_marker),
        "loopStart": float(clip.loop_start),
        "loopEnd": float(clip.loop_end),
        "looping": bool(clip.looping),
        "warping": False,
    }
    if audio:
        warping = bool(clip.warping)
        markers = clip.warp_markers if warping else ()
        facts.update(
            path=str(clip.file_path or ""),
            warping=warping,
            warpMarkers=[[float(m.beat_time), float(m.sample_time)] for m in markers],
            sampleRate=float(clip.sample_rate),
            sampleLength=int(clip.sample_length),
        )
    return facts
