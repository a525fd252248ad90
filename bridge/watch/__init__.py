"""The drop-folder input: audio files dropped into per-action folders, and request files.

`drop` holds the rules (what a path means, when a file is complete, names in done/ and
failed/) without any I/O; `watcher` runs them against the filesystem with watchdog.
"""

from __future__ import annotations

from bridge.watch.drop import AUDIO_SUFFIXES, CLIP_ACTIONS, DONE, FAILED, REQUESTS
from bridge.watch.watcher import DropFolder

__all__ = ["AUDIO_SUFFIXES", "CLIP_ACTIONS", "DONE", "FAILED", "REQUESTS", "DropFolder"]
