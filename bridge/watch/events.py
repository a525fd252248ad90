"""Watchdog's side of the drop folder: which events count, and the observer reporting them.

Watchdog's thread only notes which paths changed (`Intake`), so intake never waits for a
submit; the watcher's own worker does everything else.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from watchdog import events
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

Note = Callable[[Path, bool], None]  # (path, whether the event was a close-after-write)

# Opens and read-only closes (our own reads among them) say nothing about completeness.
_EVENTS: Final[list[type[events.FileSystemEvent]]] = [
    *(events.FileCreatedEvent, events.FileModifiedEvent, events.FileAttribEvent),
    *(events.FileMovedEvent, events.FileClosedEvent, events.FileDeletedEvent),
]


class Intake(events.FileSystemEventHandler):
    """Runs on watchdog's thread: only notes paths, so intake never waits for a submit."""

    def __init__(self, note: Note) -> None:
        self._note = note

    def on_any_event(self, event: events.FileSystemEvent) -> None:
        if event.is_directory:
            return
        if event.src_path:
            self._note(Path(os.fsdecode(event.src_path)), isinstance(event, events.FileClosedEvent))
        if event.dest_path:  # a rename from a temporary name makes a new input here
            self._note(Path(os.fsdecode(event.dest_path)), False)


def observe(folders: Sequence[Path], note: Note) -> BaseObserver:
    """A started observer telling `note` of changes in `folders` (not in their subfolders).

    OSError when they cannot be watched (e.g. the inotify watch limit); nothing is left
    running then."""
    observer = Observer()
    intake = Intake(note)
    try:
        for folder in folders:
            observer.schedule(intake, str(folder), recursive=False, event_filter=_EVENTS)
        observer.start()
    except BaseException:
        stop_observer(observer)
        raise
    return observer


def stop_observer(observer: BaseObserver) -> None:
    observer.stop()
    with contextlib.suppress(RuntimeError):  # never started
        observer.join()
