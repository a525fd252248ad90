"""What the emulator's tasks do: fetch uploads, run the DSP stand-in, render files.

Audio is kept in memory as float32 at the emulator's sample rate. Files are
rendered (WAV, MP3) the first time they are fetched and kept; links carry an
expiry time, as the service's temporary download URLs do.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import soundfile as sf
import soxr

from bridge.config import EmulatorSettings
from bridge.emulator import dsp
from bridge.emulator.contract import CREATE
from bridge.emulator.keeping import Keeper
from bridge.emulator.shapes import AudiosBody
from bridge.emulator.tasks import (
    BAD_EXTENSION,
    BAD_PARAMETER,
    FORMAT_UNAVAILABLE,
    NOT_AUDIO,
    SOURCE_NOT_FOUND,
    TOO_LONG,
    TaskFailure,
)

log = logging.getLogger(__name__)

UPLOAD_EXTENSIONS = ("mp3", "wav", "flac", "m4a", "aac", "ogg", "wma", "opus")
MAX_UPLOAD_SECONDS = 240.0
# The longest audio the emulator renders, so that a huge timeEnd cannot exhaust memory.
MAX_RENDER_SECONDS = 600.0
PLACEHOLDER_VIDEO = b"producer-bridge emulator: placeholder, not a video\n"
STEM_PARTS = ("vocals", "drums", "bass", "other")


@dataclass(frozen=True)
class FileEntry:
    render: Callable[[], bytes]
    content_type: str


class FileStore:
    """Files by name, rendered on first request and then kept."""

    def __init__(self, fallback: Callable[[str], FileEntry | None] | None = None) -> None:
        self._entries: dict[str, FileEntry] = {}
        self._rendered: dict[str, bytes] = {}
        self._lock = asyncio.Lock()
        self._fallback = fallback  # a file of an earlier run, made again from kept audio

    def add(self, name: str, render: Callable[[], bytes], content_type: str) -> None:
        self._entries.setdefault(name, FileEntry(render, content_type))

    async def get(self, name: str) -> tuple[bytes, str] | None:
        entry = self._entries.get(name)
        if entry is None and self._fallback is not None:
            entry = self._fallback(name)
            if entry is not None:
                self._entries[name] = entry
        if entry is None:
            return None
        async with self._lock:
            if name not in self._rendered:
                self._rendered[name] = await asyncio.to_thread(entry.render)
        return self._rendered[name], entry.content_type


def encode(audio: dsp.Audio, sample_rate: int, fmt: str) -> bytes:
    """WAV is 16-bit; "wav-float" is 32-bit float, for stems, whose bands may peak above
    full scale and must still sum back to the mix."""
    buffer = io.BytesIO()
    if fmt in ("wav", "wav-float"):
        subtype = "FLOAT" if fmt == "wav-float" else "PCM_16"
        sf.write(buffer, audio, sample_rate, format="WAV", subtype=subtype)
    else:
        sf.write(buffer, audio, sample_rate, format="MP3", subtype="MPEG_LAYER_III")
    return buffer.getvalue()


class Engine:
    def __init__(
        self,
        settings: EmulatorSettings,
        fetcher: httpx.AsyncClient,
        *,
        clips_per_result: int = 1,
        link_ttl: float = 3600.0,
        now: Callable[[], float] = time.time,
        keeper: Keeper | None = None,
    ) -> None:
        self.settings = settings
        self._fetcher = fetcher
        self._clips = clips_per_result
        self._link_ttl = link_ttl
        self._now = now
        self._keeper = keeper  # keeps every audio on disk, to outlive this process
        self.audios: dict[str, dsp.Audio] = {}
        self.files = FileStore(self._kept_file if keeper is not None else None)

    @property
    def rate(self) -> int:
        return self.settings.sample_rate

    def link(self, base: str, name: str) -> str:
        # Millisecond precision: a short test TTL must not stretch to a whole second.
        return f"{base}/files/{name}?exp={self._now() + self._link_ttl:.3f}"

    def link_expired(self, exp: str | None) -> bool:
        try:
            return exp is not None and float(exp) < self._now()
        except ValueError:
            return True

    def _store(self, base: str, audio: dsp.Audio) -> tuple[str, str]:
        audio_id = str(uuid.uuid4())
        self.audios[audio_id] = audio
        if self._keeper is not None:
            self._keeper.keep_audio(audio_id, audio)
        name = f"{audio_id}.mp3"
        self.files.add(name, lambda: encode(audio, self.rate, "mp3"), "audio/mpeg")
        return audio_id, self.link(base, name)

    def _source(self, audio_id: str | None) -> dsp.Audio:
        audio = self._audio(audio_id or "")
        if audio is None:
            raise TaskFailure(SOURCE_NOT_FOUND, "Audio source not found")
        return audio

    def _audio(self, audio_id: str) -> dsp.Audio | None:
        audio = self.audios.get(audio_id)
        if audio is None and self._keeper is not None and audio_id:
            audio = self._keeper.audio(audio_id)
            if audio is not None:
                self.audios[audio_id] = audio
        return audio

    def _kept_file(self, name: str) -> FileEntry | None:
        """A file an earlier run named, rendered again from its kept audio: `<id>.mp3`,
        `<id>.wav`, a stem `<id>-<stem>.wav`, or a video placeholder `<id>-<preset>.mp4`."""
        stem, _, fmt = name.rpartition(".")
        if fmt == "mp4":
            return FileEntry(lambda: PLACEHOLDER_VIDEO, "text/plain")
        audio_id, _, part = stem.rpartition("-")
        if fmt == "wav" and part in STEM_PARTS and (source := self._audio(audio_id)) is not None:
            stem_audio = dsp.split_stems(source, self.rate)[part]
            return FileEntry(_renderer(stem_audio, self.rate, "wav-float"), "audio/wav")
        source = self._audio(stem)
        if source is None or fmt not in ("wav", "mp3"):
            return None
        return FileEntry(
            _renderer(source, self.rate, fmt), "audio/wav" if fmt == "wav" else "audio/mpeg"
        )

    async def upload(self, base: str, audio_url: str) -> dict[str, Any]:
        extension = PurePosixPath(urlsplit(audio_url).path).suffix.lower().lstrip(".")
        if extension not in UPLOAD_EXTENSIONS:
            raise TaskFailure(
                BAD_EXTENSION,
                f"unsupported file extension {extension or '(none)'!r}; "
                f"accepted: {', '.join(UPLOAD_EXTENSIONS)}",
            )
        data = await self._fetch(audio_url)
        audio = await asyncio.to_thread(self._decode, data)
        audio_id, url = self._store(base, audio)
        return {
            "id": audio_id,
            "url": url,
            "lyrics": "",
            "isFlagged": False,
            "transcriptionJobId": str(uuid.uuid4()),
        }

    async def _fetch(self, url: str) -> bytes:
        try:
            response = await self._fetcher.get(url)
        except httpx.HTTPError as exc:
            raise TaskFailure(SOURCE_NOT_FOUND, f"Audio source not found: {exc}") from exc
        if response.status_code != 200:
            raise TaskFailure(
                SOURCE_NOT_FOUND, f"Audio source not found: HTTP {response.status_code}"
            )
        return response.content

    def _decode(self, data: bytes) -> dsp.Audio:
        try:
            audio, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
            raise TaskFailure(NOT_AUDIO, f"the file does not decode as audio: {exc}") from exc
        seconds = len(audio) / rate
        if seconds > MAX_UPLOAD_SECONDS:
            raise TaskFailure(
                TOO_LONG, f"audio is {seconds:.1f} s long; at most {MAX_UPLOAD_SECONDS:g} s"
            )
        if audio.shape[1] == 1:
            audio = np.repeat(audio, 2, axis=1)
        audio = audio[:, :2]
        if rate != self.rate:
            audio = soxr.resample(audio, rate, self.rate).astype(np.float32)
        return np.ascontiguousarray(audio, dtype=np.float32)

    async def generate(self, base: str, request: AudiosBody) -> Any:
        seed = request.seed if request.seed is not None else self._seed(request)
        clips = []
        for index in range(self._clips):
            try:
                audio = await asyncio.to_thread(self._render, request, seed + index)
            except ValueError as exc:
                raise TaskFailure(BAD_PARAMETER, str(exc)) from exc
            audio_id, url = self._store(base, audio)
            title = request.title or f"{request.action} {audio_id[:8]}"
            clips.append(
                {
                    "audioId": audio_id,
                    "audioUrl": url,
                    "duration": round(len(audio) / self.rate, 3),
                    "title": title,
                }
            )
        return clips[0] if len(clips) == 1 else clips

    def _seed(self, request: AudiosBody) -> int:
        texts = [sound.text for sound in request.prompts]
        return dsp.seed_for(self.settings.seed, request.action, request.audio_id, texts)

    def _render(self, request: AudiosBody, seed: int) -> dsp.Audio:
        rate = self.rate
        longest = max(
            [self.settings.create_seconds]
            + [s.time_end for s in request.prompts if s.time_end is not None]
            + [(request.continue_at or 0.0) + (request.extend_duration or 0.0)]
        )
        if longest > MAX_RENDER_SECONDS:
            limit = f"{MAX_RENDER_SECONDS:g}"
            raise ValueError(f"the emulator renders at most {limit} s of audio (asked {longest:g})")
        if request.action == CREATE:
            ends = [s.time_end for s in request.prompts if s.time_end is not None]
            seconds = max([self.settings.create_seconds, *ends])
            prompts = [(s.text, s.strength) for s in request.prompts]
            return dsp.create(seconds, rate, seed, prompts)
        source = self._source(request.audio_id)
        strength = request.prompts[0].strength if request.prompts else 0.5
        match request.action:
            case "extend_music":
                assert request.continue_at is not None
                assert request.extend_duration is not None
                return dsp.extend(source, rate, request.continue_at, request.extend_duration, seed)
            case "replace_music":
                assert request.replace_start is not None
                assert request.replace_end is not None
                return dsp.replace(source, rate, request.replace_start, request.replace_end, seed)
            case "cover_music":
                cover = request.cover_strength if request.cover_strength is not None else 0.5
                return dsp.cover(source, rate, cover, seed)
            case "swap_music_sound":
                return dsp.swap_sound(source, rate, strength, seed)
            case "swap_music_vocals":
                return dsp.swap_vocals(source, rate, strength, seed)
            case _:
                return dsp.variation(source, rate, strength, seed)

    async def stems(self, base: str, audio_id: str) -> dict[str, str]:
        source = self._source(audio_id)
        stems = await asyncio.to_thread(dsp.split_stems, source, self.rate)
        links = {}
        for name, audio in stems.items():
            file_name = f"{audio_id}-{name}.wav"
            self.files.add(file_name, _renderer(audio, self.rate, "wav-float"), "audio/wav")
            links[name] = self.link(base, file_name)
        return links

    async def stems_archive(self, base: str, audio_id: str) -> str:
        """One zip of two stems, `vocals.wav` and `instrumental.wav` (the rest summed): the
        "vocal and instrumental separation" of the acedata twin. Returns its link."""
        source = self._source(audio_id)
        stems = await asyncio.to_thread(dsp.split_stems, source, self.rate)
        rest = stems["drums"] + stems["bass"] + stems["other"]
        parts = {"vocals": stems["vocals"], "instrumental": rest}
        name = f"{audio_id}-stems.zip"
        self.files.add(name, lambda: _zipped(parts, self.rate), "application/zip")
        return self.link(base, name)

    async def download(self, base: str, audio_id: str, fmt: str) -> dict[str, str]:
        source = self._source(audio_id)
        if fmt == "m4a":
            raise TaskFailure(
                FORMAT_UNAVAILABLE,
                "the emulator cannot encode m4a (no AAC encoder here); ask for wav or mp3",
            )
        name = f"{audio_id}.{fmt}"
        content_type = "audio/wav" if fmt == "wav" else "audio/mpeg"
        self.files.add(name, _renderer(source, self.rate, fmt), content_type)
        return {"url": self.link(base, name), "format": fmt}

    async def video(self, base: str, audio_id: str, preset: str) -> dict[str, Any]:
        self._source(audio_id)
        name = f"{audio_id}-{preset}.mp4"
        self.files.add(name, lambda: PLACEHOLDER_VIDEO, "text/plain")
        return {
            "preset": preset,
            "videoUrl": self.link(base, name),
            "placeholder": True,
            "note": "the emulator renders no video; this link serves a short text placeholder",
        }


def _zipped(parts: dict[str, dsp.Audio], rate: int) -> bytes:
    import zipfile  # only for the acedata twin's stems

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, audio in parts.items():
            archive.writestr(f"{name}.wav", encode(audio, rate, "wav-float"))
    return buffer.getvalue()


def _renderer(audio: dsp.Audio, rate: int, fmt: str) -> Callable[[], bytes]:
    return lambda: encode(audio, rate, fmt)
