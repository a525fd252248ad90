"""Previews: one file played on an output device, block by block, on a thread of its own.

The file is read (soundfile) and written to a ``sounddevice.OutputStream`` one block at a
time, whatever its length. sounddevice is imported only when a preview opens, through a
`Backend` passed in: tests hand in a fake stream. PortAudio's errors are translated here,
once, in the words the doctor prints too (`bridge.audio.devices`).

Guards: loading PortAudio can block for good on a broken sound server, or abort the process
(libasound asserts on some ALSA set-ups). So `SoundDeviceBackend` first runs the audio
probe in a child process, which can hang or die alone. Opening a stream can still hang: a
preview opens on its own daemon thread, its starter waits at most `OPEN_TIMEOUT` and then
fails naming the sound server, and the daemon refuses later previews at once rather than
pile up stuck threads (`PreviewDesk`).
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, Self, TypeAlias

from bridge.audio.clips import probe
from bridge.audio.devices import judge
from bridge.errors import AudioError
from bridge.resources import Closeable

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import soundfile as sf

# numpy and soundfile are imported when something plays: a daemon nobody asks for a
# preview loads neither.

log = logging.getLogger(__name__)

BLOCK_FRAMES: Final = 2048  # about 43 ms at 48 kHz: how soon a stop is heard
OPEN_TIMEOUT: Final = 10.0  # seconds, as the doctor's audio probe
STOP_TIMEOUT: Final = 2.0  # seconds a stopped preview gets to close its stream

Device = int | str | None
Block: TypeAlias = "npt.NDArray[np.float32]"


class OutputStream(Protocol):
    def write(self, block: Block) -> None: ...

    def close(self, *, drain: bool) -> None:
        """Let what is buffered be heard (`drain`) or drop it, then free the device."""


class Backend(Protocol):
    def open_output(self, *, samplerate: int, channels: int, device: Device) -> OutputStream:
        """A started stream of float32 frames; AudioError when there is nothing to play on."""
        ...


# The real backend ------------------------------------------------------------------------


def _words(found: dict[str, object]) -> str:
    return judge(found).sentence()


def no_output_device(device: Device, outputs: Sequence[str]) -> str:
    listed = ", ".join(outputs) if outputs else "none"
    if device is None:
        words = _words({"outputs": list(outputs), "default": None})
        return f"{words}, or name one: `producer-bridge play --device NAME` (outputs: {listed})"
    return (
        f"no output device matching {device!r}; "
        f"pick one with --device NAME or INDEX (outputs: {listed})"
    )


def _import_sounddevice() -> Any:
    return importlib.import_module("sounddevice")


class SoundDeviceBackend:
    """PortAudio through sounddevice, loaded at the first preview, not at import.

    `probe` answers as `bridge.audio.devices.probe_audio`, from a child process: {"missing":
    why}, {"hung": why} or {"outputs": [names], "default": name or None}."""

    def __init__(
        self,
        load: Callable[[], Any] = _import_sounddevice,
        probe: Callable[[], dict[str, object]] | None = None,
    ) -> None:
        self._load = load
        self._probe = probe
        self._probed = probe is None

    def open_output(self, *, samplerate: int, channels: int, device: Device) -> OutputStream:
        if not self._probed:
            self._check(device)
        sd = self._module()
        name = self._device_name(sd, device)
        try:
            stream = sd.OutputStream(
                samplerate=samplerate, channels=channels, dtype="float32", device=device
            )
            stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            raise AudioError(
                f"the output device {name!r} cannot play {channels} channel(s) at "
                f"{samplerate} Hz: {exc}"
            ) from exc
        return _Stream(stream, sd.PortAudioError, name)

    def _check(self, device: Device) -> None:
        """Fail as the child process did, without loading PortAudio here."""
        assert self._probe is not None
        found = self._probe()
        if {"hung", "crashed", "missing"} & found.keys():
            raise AudioError(_words(found))
        if device is None and not found.get("default"):
            outputs = found.get("outputs")
            raise AudioError(no_output_device(None, outputs if isinstance(outputs, list) else []))
        self._probed = True  # what failed is probed again: the user may have fixed it

    def _module(self) -> Any:
        try:
            return self._load()
        except OSError as exc:  # sounddevice raises it when libportaudio cannot be loaded
            raise AudioError(_words({"missing": str(exc)})) from exc

    @staticmethod
    def _device_name(sd: Any, device: Device) -> str:
        try:
            return str(sd.query_devices(device, kind="output")["name"])
        except (sd.PortAudioError, ValueError) as exc:
            log.debug("no output device %r: %s", device, exc)
            raise AudioError(no_output_device(device, _outputs(sd))) from exc


def _outputs(sd: Any) -> list[str]:
    try:
        devices = sd.query_devices()
    except sd.PortAudioError:
        return []
    return [f"{d['index']}: {d['name']}" for d in devices if d["max_output_channels"] > 0]


class _Stream:
    """A sounddevice stream whose PortAudio errors (a device unplugged) are AudioErrors."""

    def __init__(self, stream: Any, error: type[Exception], name: str) -> None:
        self._stream = stream
        self._error = error
        self._name = name

    def write(self, block: Block) -> None:
        try:
            self._stream.write(block)
        except self._error as exc:
            raise AudioError(f"the output device {self._name!r} stopped playing: {exc}") from exc

    def close(self, *, drain: bool) -> None:
        try:
            if drain:
                self._stream.stop()
            else:
                self._stream.abort()
        except self._error as exc:
            log.debug("preview: the stream did not stop cleanly: %s", exc)
        finally:
            self._stream.close(ignore_errors=True)


# Playing one file ------------------------------------------------------------------------


class Player:
    """Plays `path` from `start` seconds; `stop()` may come from any thread."""

    def __init__(
        self,
        path: Path,
        *,
        backend: Backend,
        start: float = 0.0,
        device: Device = None,
        block_frames: int = BLOCK_FRAMES,
    ) -> None:
        self.path = path
        self.info = probe(path)  # a missing or undecodable file fails here, naming it
        if not 0 <= start < self.info.duration:  # NaN too
            raise AudioError(
                f"{path}: cannot start at {start:g} s; it is {self.info.duration:.3f} s long"
            )
        self._backend = backend
        self._device = device
        self._block = block_frames
        self.start = start
        self._first = round(start * self.info.sample_rate)
        self._frame = self._first
        self.stop_requested = threading.Event()
        self.opened = threading.Event()  # set once the stream plays

    @property
    def position(self) -> float:
        """Seconds into the file of what has been handed to the device."""
        return self._frame / self.info.sample_rate

    @property
    def duration(self) -> float:
        return self.info.duration

    def stop(self) -> None:
        self.stop_requested.set()

    def play(self) -> bool:
        """Play to the end (True) or until `stop()` (False); AudioError says why not."""
        import soundfile as sf

        try:
            with sf.SoundFile(str(self.path)) as source:
                source.seek(self._first)
                stream = self._backend.open_output(
                    samplerate=self.info.sample_rate,
                    channels=self.info.channels,
                    device=self._device,
                )
                return self._stream_blocks(source, stream)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(f"{self.path}: cannot be decoded: {exc}") from exc

    def _stream_blocks(self, source: sf.SoundFile, stream: OutputStream) -> bool:
        import numpy as np

        finished = False
        try:
            self.opened.set()
            for block in source.blocks(self._block, dtype="float32", always_2d=True):
                if self.stop_requested.is_set():
                    break
                stream.write(np.ascontiguousarray(block))
                self._frame += len(block)
            else:
                finished = True
        finally:
            # A stop drops what is buffered, so that it is heard at once.
            stream.close(drain=finished)
        return finished


class Playback(Closeable):
    """A `Player` on its own daemon thread: a stuck PortAudio call never holds a caller."""

    def __init__(
        self, player: Player, on_error: Callable[[AudioError], None] | None = None
    ) -> None:
        self.player = player
        self._on_error = on_error  # hears what fails once playing, when nobody waits for it
        self.error: AudioError | None = None
        self.finished = False  # True once played to the end, not stopped
        self.hung = False
        # Waited on instead of Thread.join: Ctrl-C during a join makes Python 3.11 take a
        # running thread for ended (bpo-45274's fix releases the thread's own lock).
        self._ended = threading.Event()
        self._thread = threading.Thread(target=self._run, name="preview", daemon=True)

    def _run(self) -> None:
        try:
            self.finished = self.player.play()
        except AudioError as exc:
            self.error = exc
            if self.player.opened.is_set() and self._on_error is not None:
                self._on_error(exc)
        finally:
            self.player.opened.set()  # wakes `start` when the open itself failed
            self._ended.set()

    def start(self, timeout: float = OPEN_TIMEOUT) -> Self:
        """Start playing; return once the stream plays. AudioError if it cannot open."""
        self._thread.start()
        if not self.player.opened.wait(timeout):
            self.hung = True
            self.player.stop()
            hung = f"PortAudio did not answer within {timeout:g} s"
            raise AudioError(_words({"hung": hung}))
        if self.error is not None:  # set before `opened` when the open itself failed
            raise self.error
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """True once playing has ended (to the end, by a stop or by an error)."""
        return self._ended.wait(timeout)

    def stop(self, timeout: float | None = None) -> None:
        self.player.stop()
        if timeout is not None:
            self._ended.wait(timeout)

    def close(self) -> None:
        """Stop a playback that started and is not stuck in PortAudio."""
        if self._thread.ident is not None and not self.hung:
            self.stop(STOP_TIMEOUT)


# The daemon's one preview at a time --------------------------------------------------------


class PreviewDesk(Closeable):
    """At most one preview playing; a new one stops the one before. `play` blocks up to
    `open_timeout` (call it from a worker thread); `stop` and `close` never wait long."""

    def __init__(
        self,
        roots: Sequence[Path],
        *,
        backend: Backend | None = None,
        open_timeout: float = OPEN_TIMEOUT,
    ) -> None:
        self.roots = tuple(roots)
        self._backend = backend or SoundDeviceBackend()
        self._timeout = open_timeout
        self._opening = threading.Lock()  # one preview opens at a time
        self._state = threading.Lock()
        self._current: Playback | None = None
        self._hung: str | None = None
        self._closed = False

    def play(self, path: Path, start: float = 0.0) -> Playback:
        with self._opening:
            if self._hung is not None:
                raise AudioError(f"{self._hung}; then restart the daemon")
            self.stop(wait=STOP_TIMEOUT)
            playback = Playback(Player(path, backend=self._backend, start=start), _log_error)
            try:
                playback.start(self._timeout)
            except AudioError as exc:
                if playback.hung:
                    self._hung = exc.message
                raise
            with self._state:
                if self._closed:
                    playback.stop()
                else:
                    self._current = playback
            return playback

    def stop(self, wait: float | None = None) -> Path | None:
        """Stop what plays; the file that was playing, if any."""
        with self._state:
            playing, self._current = self._current, None
        if playing is None or playing.wait(0):
            return None
        playing.stop(wait)
        return playing.player.path

    def close(self) -> None:
        with self._state:
            self._closed = True
        self.stop(wait=STOP_TIMEOUT)


def _log_error(exc: AudioError) -> None:
    log.warning("preview stopped: %s", exc.message)
