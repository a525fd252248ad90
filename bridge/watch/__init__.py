"""The drop-folder input: audio files dropped into per-action folders, and request files.

`drop` holds the rules (what a path means, when a file is complete, names in done/ and
failed/) without any I/O; `watcher` runs them against the filesystem: `events` is watchdog's
side, `inputs` takes a complete clip or request file, `handover` moves it into done/ or
failed/ and tells the daemon, `moves` and `pending` make those moves safe and recoverable.
"""

from __future__ import annotations

from bridge.watch.drop import AUDIO_SUFFIXES, CLIP_ACTIONS, Folder
from bridge.watch.watcher import DropFolder

__all__ = ["AUDIO_SUFFIXES", "CLIP_ACTIONS", "DropFolder", "Folder"]
