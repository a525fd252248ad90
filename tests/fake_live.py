"""A fake Ableton Live with AbletonOSC, speaking real OSC over real UDP.

It answers the addresses the bridge uses the way AbletonOSC does (see bridge/ableton/live.py
for the commits read): replies go to the sender's host on ``reply_port`` whatever port the
query came from, clip getters echo ``(track, clip)`` first, and a failing handler (empty slot,
no selectable track, unknown address) sends ``/live/error`` with a text instead of a reply.

Thread-based, so sync and async tests can both use it::

    with FakeLive(reply_port=free_udp_port()) as live:
        live.state.tempo = 93.5
        ... AbletonLink(port=live.port, listen_port=live.reply_port) ...
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

Slot = tuple[int, int]


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def osc(address: str, *args: Any) -> bytes:
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return bytes(builder.build().dgram)


@dataclass
class LiveState:
    """What the fake Live answers. ``clips`` maps a Session slot to its clip's file path;
    an empty path is a MIDI clip, a slot missing from the map is empty."""

    tempo: float = 120.0
    loop_start: float = 0.0
    loop_length: float = 16.0
    selected: Slot | None = (0, 0)
    clips: dict[Slot, str] = field(default_factory=dict)


class FakeLive:
    def __init__(
        self,
        reply_port: int,
        port: int = 0,
        *,
        state: LiveState | None = None,
        tick: float = 0.0,
        reverse: bool = False,
    ) -> None:
        """``tick`` > 0 answers queued queries once per tick, like Live's 100 ms scheduler;
        ``reverse`` then answers each batch last-first, to test reply matching."""
        self.state = state or LiveState()
        self.reply_port = reply_port
        self.silent = False
        self.tick = tick
        self.reverse = reverse
        self._received: list[tuple[str, tuple[Any, ...]]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", port))
        self._socket.settimeout(0.02)
        self._thread = threading.Thread(target=self._serve, name="fake-live", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    @property
    def received(self) -> list[tuple[str, tuple[Any, ...]]]:
        with self._lock:
            return list(self._received)

    def addresses(self) -> list[str]:
        return [address for address, _ in self.received]

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        self._socket.close()

    def __enter__(self) -> FakeLive:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the server thread -------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stop.is_set():
            batch = self._receive_batch()
            if self.reverse:
                batch.reverse()
            for data, sender in batch:
                self._handle(data, sender)

    def _receive_batch(self) -> list[tuple[bytes, Any]]:
        batch: list[tuple[bytes, Any]] = []
        deadline = time.monotonic() + self.tick
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):  # the short timeout lets close() stop us
                batch.append(self._socket.recvfrom(65536))
            if batch and time.monotonic() >= deadline:
                break
        return batch

    def _handle(self, data: bytes, sender: Any) -> None:
        try:
            messages = [timed.message for timed in OscPacket(data).messages]
        except Exception:
            return  # AbletonOSC logs a parse error and carries on
        for message in messages:
            args = tuple(message.params)
            with self._lock:
                self._received.append((message.address, args))
            if self.silent:
                continue
            reply = self._answer(message.address, args)
            if reply is not None:
                self._socket.sendto(osc(*reply), (sender[0], self.reply_port))

    def _answer(self, address: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        state = self.state
        song = {
            "/live/song/get/tempo": state.tempo,
            "/live/song/get/loop_start": state.loop_start,
            "/live/song/get/loop_length": state.loop_length,
        }
        if address in song:
            value = song[address]
            # Live's values are floats; a test may plant a string to play a broken peer.
            return (address, value if isinstance(value, str) else float(value))
        if address == "/live/test":
            return (address, "ok")
        if address == "/live/view/get/selected_clip":
            if state.selected is None:
                # What AbletonOSC sends when the selected track is a return or master track.
                return ("/live/error", "Error handling OSC message: list.index(x): x not in list")
            return (address, *state.selected)
        if address.startswith(("/live/clip/get/", "/live/clip_slot/get/")):
            return self._clip_answer(address, args)
        return ("/live/error", f"Unknown OSC address: {address}")

    def _clip_answer(self, address: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
        slot = (int(args[0]), int(args[1]))
        path = self.state.clips.get(slot)
        if address == "/live/clip_slot/get/has_clip":
            return (address, *slot, path is not None)
        if path is None:
            return (
                "/live/error",
                "Error handling OSC message: 'NoneType' object has no attribute "
                f"'{address.rsplit('/', 1)[1]}'",
            )
        values = {
            "/live/clip/get/is_audio_clip": bool(path),
            "/live/clip/get/is_midi_clip": not path,
            "/live/clip/get/file_path": path,
        }
        if address not in values:
            return ("/live/error", f"Unknown OSC address: {address}")
        return (address, *slot, values[address])
