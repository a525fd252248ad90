"""Our remote script, installed into a temporary User Library and run under the fake `Live`
module (tests/live_fake), with a thread standing in for Live's display timer."""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from bridge.ableton.install import install_remote_script
from tests.daemon_harness import free_udp_port

FAKE = Path(__file__).resolve().parent / "live_fake"
TICK = 0.01  # seconds between two display ticks (Live's own timer is about 0.1 s)


def load_live(target: Path) -> tuple[ModuleType, ModuleType]:
    """Install the script into `target` and import it with the fake `Live` on the path."""
    installed = install_remote_script(target)
    for name in [n for n in sys.modules if n == "Live" or n.startswith("ProducerBridge")]:
        del sys.modules[name]
    sys.path[:0] = [str(FAKE), str(installed.parent)]
    try:
        return importlib.import_module("Live"), importlib.import_module("ProducerBridge")
    finally:
        sys.path.remove(str(FAKE))
        sys.path.remove(str(installed.parent))


@contextmanager
def running_script(
    live: ModuleType, script: ModuleType, song: Any, version: tuple[int, int, int] = (12, 1, 5)
) -> Iterator[tuple[Any, int]]:
    """Live of `version` with `song` open and ProducerBridge chosen as a control surface;
    yields the surface and the UDP port it answers on."""
    port = free_udp_port()
    wire = sys.modules["ProducerBridge.wire"]
    wire.PORT = port
    c_instance = live._open(song, version)
    surface = script.create_instance(c_instance)
    stop = threading.Event()

    def display_timer() -> None:
        while not stop.wait(TICK):
            surface.update_display()

    timer = threading.Thread(target=display_timer, name="live-display-timer")
    timer.start()
    try:
        yield surface, port
    finally:
        stop.set()
        timer.join()
        surface.disconnect()


def arrangement_set(live: ModuleType, path: Path) -> Any:
    """120 bpm; a warped clip of a 100 bpm file at bar 17 (beat 64) on track "Vox", 16 bars
    long; the loop brace over bars 21-25 (beats 80-96) and switched on."""
    markers = (live.Clip.WarpMarker(0.0, 0.0), live.Clip.WarpMarker(64.0, 38.4))
    clip = live.Clip.Clip(
        str(path),
        name="Vox",
        start_time=64.0,
        end_time=128.0,
        start_marker=0.0,
        end_marker=64.0,
        loop_start=0.0,
        loop_end=64.0,
        warp_markers=markers,
        sample_rate=48000.0,
        sample_length=40 * 48000,
    )
    track = live.Track("Vox", (clip,))
    view = live.SongView(selected_track=track, detail_clip=clip)
    return live.Song([track], view, tempo=120.0, loop=True, loop_start=80.0, loop_length=16.0)
