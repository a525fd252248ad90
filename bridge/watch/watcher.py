"""Watches the drop folder with watchdog and hands each complete input to `submit` once.

Two kinds of thread: watchdog's only note which paths changed (`events.Intake`), and one
worker of ours stats them, decides when each is complete (`drop.Settling`), and passes it to
its kind of input (`inputs`), which moves it into done/ and calls `submit`, or into failed/
beside an error report (`handover`). A slow submit therefore delays later inputs but never
the intake of events. A rescan every `settle` seconds catches anything an event missed, and
is all there is if the folder cannot be watched at all.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from pathlib import Path
from typing import Final, Self

from watchdog.observers.api import BaseObserver

from bridge.errors import ConfigError, Issue
from bridge.resources import Startable
from bridge.watch import drop as rules
from bridge.watch.drop import Drop, Folder, Group, Kind
from bridge.watch.events import observe, stop_observer
from bridge.watch.handover import Handover, Rejected, Submit
from bridge.watch.inputs import ClipInput, RequestInput
from bridge.watch.probe import from_stat, signature

log = logging.getLogger(__name__)

# A close-after-write is trusted (for request files and sidecars) once nothing changed for
# this long after it: long enough to see a writer that closes and at once reopens to append.
CLOSE_GRACE: Final = 0.05


class DropFolder(Startable):
    """The drop-folder input. `start()` (or `with`) creates the folders and starts watching;
    `submit(request, source)` is called from one worker thread with each complete input,
    `source` being its path in done/; `on_rejected(source, reason)` with each rejected one,
    `source` being its path in failed/."""

    def __init__(
        self,
        root: Path,
        *,
        settle: float,
        submit: Submit,
        on_rejected: Rejected | None = None,
        pair_wait: float = 3.0,
    ) -> None:
        if not settle > 0:
            raise ValueError(f"settle must be a positive number of seconds (got {settle})")
        self._root = Path(os.path.abspath(root))
        self._folders = {action: self._root / action for action in rules.CLIP_ACTIONS}
        self._requests = self._root / Folder.REQUESTS
        self._settle = settle
        self._settling = rules.Settling(settle, CLOSE_GRACE)
        handover = Handover(self._root, self._settling, submit, on_rejected)
        self._handover = handover
        self._pair_wait = pair_wait  # how long a clip and its sidecar wait for each other
        self._clips = ClipInput(self._settling, handover, settle=settle, pair_wait=pair_wait)
        self._request_files = RequestInput(handover)
        self._events: queue.SimpleQueue[tuple[Path, bool]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._observer: BaseObserver | None = None
        self._worker: threading.Thread | None = None
        self._closed = False

    @property
    def root(self) -> Path:
        return self._root

    @property
    def folders(self) -> dict[str, Path]:
        """Action name -> the folder that takes clips for it."""
        return dict(self._folders)

    @property
    def requests(self) -> Path:
        return self._requests

    def start(self) -> Self:
        """Create the folders, start watching, and take up what is already there."""
        with self._lock:
            if self._closed:
                raise RuntimeError("this drop folder watcher was closed; make a new one")
            if self._worker is not None:
                return self
            self._create_folders()
            self._observer = self._watch()
            self._worker = threading.Thread(target=self._run, name="drop-folder", daemon=True)
            self._worker.start()
        log.info("drop folder: watching %s (settle %.2f s)", self._root, self._settle)
        return self

    def close(self) -> None:
        """Stop watching and wait for the worker (and a submit it is in) to finish."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            observer, worker = self._observer, self._worker
            self._observer = self._worker = None
        self._stop.set()
        self._wake.set()
        if observer is not None:
            stop_observer(observer)
        if worker is not None and worker is not threading.current_thread():
            worker.join()

    # Setting up --------------------------------------------------------------------------

    def _inputs(self) -> list[Path]:
        """The folders inputs arrive in; done/ and failed/ are never watched nor scanned."""
        return [self._root, *self._folders.values(), self._requests]

    def _create_folders(self) -> None:
        for folder in [*self._inputs(), self._root / Folder.DONE, self._root / Folder.FAILED]:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                issue = Issue("drop.folder", f"cannot create {folder}: {exc.strerror or exc}")
                raise ConfigError([issue]) from exc

    def _watch(self) -> BaseObserver | None:
        try:
            return observe(self._inputs(), self._note)
        except OSError as exc:
            # e.g. the inotify watch limit: the rescan still finds every input, only later.
            log.warning(
                "drop folder: cannot watch %s for changes (%s); checking it every %.2f s instead",
                self._root,
                exc,
                self._settle,
            )
            return None

    def _note(self, path: Path, closed: bool) -> None:
        self._events.put((path, closed))
        self._wake.set()

    # The worker ---------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._handover.recover()
        except Exception:
            log.exception("drop folder: recovering inputs taken before a stop failed")
        next_scan = time.monotonic()  # the first pass takes up what is already there
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                if now >= next_scan:
                    self._rescan(now)
                    next_scan = now + self._settle
                self._drain(now)
                for path in self._settling.due(now):
                    if self._stop.is_set():
                        break
                    self._check_safely(path)
            except Exception:
                log.exception("drop folder: unexpected error; carrying on")
            next_check = self._settling.next_check()
            wake_at = next_scan if next_check is None else min(next_scan, next_check)
            self._wake.wait(max(0.0, wake_at - time.monotonic()))
            self._wake.clear()

    def _drain(self, now: float) -> None:
        latest: dict[Path, bool] = {}
        while True:
            try:
                path, closed = self._events.get_nowait()
            except queue.Empty:
                break
            latest[path] = closed  # the last event for a path decides: closed, or written
        for path, closed in latest.items():
            if rules.classify(self._root, path).kind is Kind.IGNORE:
                continue
            sig = signature(path)
            if sig is None:
                self._settling.forget(path)
            else:
                self._settling.saw(path, sig, now, changed=True, closed=closed)

    def _rescan(self, now: float) -> None:
        present: set[Path] = set()
        listed: set[Path] = set()
        for folder in self._inputs():
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        path = Path(entry.path)
                        if rules.classify(self._root, path).kind is Kind.IGNORE:
                            continue
                        with contextlib.suppress(OSError):
                            if entry.is_file():
                                self._settling.saw(path, from_stat(entry.stat()), now)
                                present.add(path)
            except OSError as exc:
                log.debug("drop folder: cannot list %s: %s", folder, exc)
                continue
            listed.add(folder)
        for path in self._settling.paths() - present:
            if path.parent in listed:
                self._settling.forget(path)

    def _lone_sidecar(self, group: Group, drop: Drop, now: float) -> None:
        """A sidecar waits for its clip, which takes it when it settles; one that no clip
        came for within the pairing time goes to failed/ saying so."""
        path = group.paths[0]
        if _has_clip(path.parent, group.stem):
            self._settling.park(path)
            return
        since = self._settling.quiet_since(path) or now
        due = since + self._settle + self._pair_wait
        if now < due:
            self._settling.retry(path, due)
            return
        waited = self._settle + self._pair_wait
        self._handover.reject(group, drop, rules.lone_sidecar_reason(path.name, waited))

    def _check_safely(self, path: Path) -> None:
        try:
            self._check(path, time.monotonic())
        except Exception:
            log.exception("drop folder: unexpected error with %s; leaving it in place", path)
            self._settling.park(path)

    def _check(self, path: Path, now: float) -> None:
        drop = rules.classify(self._root, path)
        sig = signature(path)
        if sig is None or drop.kind is Kind.IGNORE:
            self._settling.forget(path)
            return
        self._settling.saw(path, sig, now)
        trust_close = drop.kind in (Kind.REQUEST, Kind.SIDECAR)
        if not self._settling.check(path, now, trust_close=trust_close):
            return
        group = Group(rules.split_name(path.name)[0], (path,))
        if drop.kind is Kind.SIDECAR:
            self._lone_sidecar(group, drop, now)
        elif drop.kind is Kind.CLIP:
            self._clips.take(group, drop, sig, now)
        elif drop.kind is Kind.REQUEST:
            self._request_files.take(group, drop)
        else:
            self._handover.reject(group, drop, drop.reason)


def _has_clip(folder: Path, stem: str) -> bool:
    """Whether an audio file with this stem (any case of its suffix) is in `folder`."""
    try:
        names = os.listdir(folder)
    except OSError:
        return False
    for name in names:
        own_stem, suffix = rules.split_name(name)
        if own_stem == stem and suffix.lower() in rules.AUDIO_SUFFIXES:
            return True
    return False
