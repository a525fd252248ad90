"""Watches the drop folder with watchdog and hands each complete input to `submit` once.

Two kinds of thread: watchdog's only note which paths changed (`_Intake`), and one worker of
ours stats them, decides when each is complete (`drop.Settling`), moves it into done/ and
calls `submit`, or moves it into failed/ beside an error report. A slow submit therefore
delays later inputs but never the intake of events. A rescan every `settle` seconds catches
anything an event missed, and is all there is if the folder cannot be watched at all.

A user's file is never deleted or overwritten: inputs move by hard link then unlink (or a
checked rename where links are not supported), to a name that is free.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import stat
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from watchdog import events
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from bridge.errors import BridgeError, ConfigError, Issue, RequestError
from bridge.files import write_bytes_atomic
from bridge.watch import drop as rules
from bridge.watch import pending
from bridge.watch.drop import Drop, Group, Kind, Signature
from bridge.watch.moves import move_group

log = logging.getLogger(__name__)

Submit = Callable[[dict[str, Any], Path], str]
Rejected = Callable[[Path, str], None]

# A close-after-write is trusted (for request files and sidecars) once nothing changed for
# this long after it: long enough to see a writer that closes and at once reopens to append.
CLOSE_GRACE: Final = 0.05
# Opens and read-only closes (our own reads among them) say nothing about completeness.
_EVENTS: Final[list[type[events.FileSystemEvent]]] = [
    *(events.FileCreatedEvent, events.FileModifiedEvent, events.FileAttribEvent),
    *(events.FileMovedEvent, events.FileClosedEvent, events.FileDeletedEvent),
]


class _Intake(events.FileSystemEventHandler):
    """Runs on watchdog's thread: only notes paths, so intake never waits for a submit."""

    def __init__(self, note: Callable[[Path, bool], None]) -> None:
        self._note = note

    def on_any_event(self, event: events.FileSystemEvent) -> None:
        if event.is_directory:
            return
        if event.src_path:
            self._note(Path(os.fsdecode(event.src_path)), isinstance(event, events.FileClosedEvent))
        if event.dest_path:  # a rename from a temporary name makes a new input here
            self._note(Path(os.fsdecode(event.dest_path)), False)


class DropFolder:
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
    ) -> None:
        if not settle > 0:
            raise ValueError(f"settle must be a positive number of seconds (got {settle})")
        self._root = Path(os.path.abspath(root))
        self._folders = {action: self._root / action for action in rules.CLIP_ACTIONS}
        self._requests = self._root / rules.REQUESTS
        self._done = self._root / rules.DONE
        self._failed = self._root / rules.FAILED
        self._settle = settle
        self._submit = submit
        self._on_rejected = on_rejected
        self._settling = rules.Settling(settle, CLOSE_GRACE)
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

    def start(self) -> DropFolder:
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
            _stop_observer(observer)
        if worker is not None and worker is not threading.current_thread():
            worker.join()

    def __enter__(self) -> DropFolder:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Setting up --------------------------------------------------------------------------

    def _inputs(self) -> list[Path]:
        """The folders inputs arrive in; done/ and failed/ are never watched nor scanned."""
        return [self._root, *self._folders.values(), self._requests]

    def _create_folders(self) -> None:
        for folder in [*self._inputs(), self._done, self._failed]:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                issue = Issue("drop.folder", f"cannot create {folder}: {exc.strerror or exc}")
                raise ConfigError([issue]) from exc

    def _watch(self) -> BaseObserver | None:
        observer = Observer()
        intake = _Intake(self._note)
        try:
            for folder in self._inputs():
                observer.schedule(intake, str(folder), recursive=False, event_filter=_EVENTS)
            observer.start()
        except OSError as exc:
            # e.g. the inotify watch limit: the rescan still finds every input, only later.
            log.warning(
                "drop folder: cannot watch %s for changes (%s); checking it every %.2f s instead",
                self._root,
                exc,
                self._settle,
            )
            _stop_observer(observer)
            return None
        except BaseException:
            _stop_observer(observer)
            raise
        return observer

    def _note(self, path: Path, closed: bool) -> None:
        self._events.put((path, closed))
        self._wake.set()

    # The worker ---------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._recover()
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
            sig = _signature(path)
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
                                self._settling.saw(path, _from_stat(entry.stat()), now)
                                present.add(path)
            except OSError as exc:
                log.debug("drop folder: cannot list %s: %s", folder, exc)
                continue
            listed.add(folder)
        for path in self._settling.paths() - present:
            if path.parent in listed:
                self._settling.forget(path)

    def _check_safely(self, path: Path) -> None:
        try:
            self._check(path, time.monotonic())
        except Exception:
            log.exception("drop folder: unexpected error with %s; leaving it in place", path)
            self._settling.park(path)

    def _check(self, path: Path, now: float) -> None:
        drop = rules.classify(self._root, path)
        sig = _signature(path)
        if sig is None or drop.kind is Kind.IGNORE:
            self._settling.forget(path)
            return
        self._settling.saw(path, sig, now)
        trust_close = drop.kind in (Kind.REQUEST, Kind.SIDECAR)
        if not self._settling.check(path, now, trust_close=trust_close):
            return
        group = Group(rules.split_name(path.name)[0], (path,))
        if drop.kind is Kind.SIDECAR:
            self._settling.park(path)  # it waits for its audio
        elif drop.kind is Kind.CLIP:
            self._clip(group, drop, sig, now)
        elif drop.kind is Kind.REQUEST:
            self._request(group, drop)
        else:
            self._reject(group, drop, drop.reason)

    # Inputs -------------------------------------------------------------------------------

    def _clip(self, group: Group, drop: Drop, sig: Signature, now: float) -> None:
        path = group.paths[0]
        ready, sidecar = self._sidecar(path, now)
        if not ready:
            return
        if sidecar is not None:
            group = Group(group.stem, (path, sidecar))
        if sig.size == 0:
            self._reject(group, drop, rules.empty_reason(path.name))
            return
        try:
            data = None
            if sidecar is not None:
                data = rules.parse_json_object(_read(sidecar), sidecar.name)
                rules.check_sidecar(drop.action, data, sidecar.name)
        except RequestError as exc:
            self._reject(group, drop, exc.details())
            return
        self._take_over(group, drop, data)

    def _sidecar(self, audio: Path, now: float) -> tuple[bool, Path | None]:
        """(ready, the clip's sidecar or None); not ready while the sidecar is being written,
        and then the clip is checked again when the sidecar is."""
        for name in rules.sidecar_names(audio.name):
            candidate = audio.with_name(name)
            sig = _signature(candidate)
            if sig is None:
                continue
            self._settling.saw(candidate, sig, now)
            if self._settling.check(candidate, now, trust_close=True):
                return True, candidate
            self._settling.retry(audio, self._settling.when(candidate) or now + self._settle)
            return False, None
        return True, None

    def _request(self, group: Group, drop: Drop) -> None:
        path = group.paths[0]
        try:
            data = rules.parse_json_object(_read(path), path.name)
        except RequestError as exc:
            self._reject(group, drop, exc.details())
            return
        self._take_over(group, drop, data)

    def _take_over(self, group: Group, drop: Drop, data: dict[str, Any] | None) -> None:
        """Move an input into done/ and hand it to the daemon, a marker covering the gap."""
        path = group.paths[0]
        sidecar_suffix = group.suffixes[1] if len(group.paths) > 1 else None
        try:
            marker = pending.write(
                self._done,
                path,
                kind=drop.kind.value,
                folder=drop.folder,
                sidecar=data if drop.kind is Kind.CLIP else None,
                sidecar_suffix=sidecar_suffix,
            )
        except OSError as exc:
            log.error("drop folder: cannot write into %s (%s); %s waits", self._done, exc, path)
            for member in group.paths:
                self._settling.park(member)
            return
        moved = self._take(group, self._done)
        if moved is not None:
            if drop.kind is Kind.CLIP:
                request = rules.clip_request(drop.action, data, str(moved.paths[0]))
            else:
                request = data or {}
            self._hand_over(request, moved, drop, group.stem)
        marker.unlink(missing_ok=True)

    def _recover(self) -> None:
        """Hand over again what a stopped daemon took but may not have journaled."""
        for item in pending.found(self._done):
            path = pending.locate(self._done, item)
            if path is not None:
                log.warning("drop folder: %s was taken just before a stop; handing it over", path)
                self._hand_over_again(path, item)
            item.marker.unlink(missing_ok=True)

    def _hand_over_again(self, path: Path, item: pending.Pending) -> None:
        drop = Drop(Kind(item.kind), item.folder)
        stem = rules.split_name(path.name)[0]
        paths = [path]
        if item.sidecar_suffix is not None and path.with_name(stem + item.sidecar_suffix).exists():
            paths.append(path.with_name(stem + item.sidecar_suffix))
        try:
            if drop.kind is Kind.CLIP:
                request = rules.clip_request(drop.action, item.sidecar, str(path))
            else:
                request = rules.parse_json_object(_read(path), path.name)
        except RequestError as exc:
            log.error("drop folder: %s cannot be handed over again: %s", path, exc.details())
            return
        self._hand_over(request, Group(stem, tuple(paths)), drop, stem)

    def _hand_over(self, request: dict[str, Any], moved: Group, drop: Drop, stem: str) -> None:
        source = moved.paths[0]
        try:
            job = self._submit(request, source)
        except BridgeError as exc:
            reason = rules.describe(exc)
        except Exception as exc:
            log.exception("drop folder: submitting %s failed unexpectedly", source)
            reason = rules.describe(exc)
        else:
            log.info("drop folder: %s submitted as job %s", source.name, job)
            return
        try:
            failed = move_group(moved, self._failed, stem=stem, extra=(rules.ERROR_SUFFIX,))
        except OSError as exc:
            log.error("drop folder: %s failed (%s) and stays in done/: %s", source, reason, exc)
            self._tell(source, reason)
            return
        self._report(failed, drop, reason)

    def _reject(self, group: Group, drop: Drop, reason: str) -> None:
        failed = self._take(group, self._failed, extra=(rules.ERROR_SUFFIX,))
        if failed is not None:
            self._report(failed, drop, reason)

    def _take(self, group: Group, folder: Path, extra: Sequence[str] = ()) -> Group | None:
        """Move an input out of the drop folders; on failure it stays, untouched, until it
        changes (a permission fixed, a lock released) or the daemon restarts."""
        try:
            moved = move_group(group, folder, stem=group.stem, extra=extra)
        except OSError as exc:
            log.error("drop folder: cannot move %s into %s: %s", group.paths[0], folder, exc)
            for path in group.paths:
                self._settling.park(path)
            return None
        for path in group.paths:
            self._settling.forget(path)
        return moved

    def _report(self, failed: Group, drop: Drop, reason: str) -> None:
        source = failed.paths[0]
        text = rules.error_report(
            names=[path.name for path in failed.paths],
            folder=drop.folder,
            dropped_into=str(self._root / drop.folder),
            reason=reason,
            when=datetime.now().astimezone().isoformat(timespec="seconds"),
        )
        report = source.with_name(failed.stem + rules.ERROR_SUFFIX)
        try:
            write_bytes_atomic(report, text.encode("utf-8", "backslashreplace"))
        except OSError as exc:
            log.error("drop folder: cannot write %s: %s", report, exc)
        log.warning("drop folder: rejected %s (now in failed/): %s", source.name, reason)
        self._tell(source, reason)

    def _tell(self, source: Path, reason: str) -> None:
        if self._on_rejected is None:
            return
        try:
            self._on_rejected(source, reason)
        except Exception:
            log.exception("drop folder: on_rejected failed for %s", source)


def _stop_observer(observer: BaseObserver) -> None:
    observer.stop()
    with contextlib.suppress(RuntimeError):  # never started
        observer.join()


def _signature(path: Path) -> Signature | None:
    """The size and mtime of a regular file; None if it is gone or not a regular file."""
    try:
        return _from_stat(path.stat())
    except (OSError, ValueError):
        return None


def _from_stat(st: os.stat_result) -> Signature:
    if not stat.S_ISREG(st.st_mode):
        raise OSError(f"not a regular file (mode {st.st_mode:o})")
    return Signature(st.st_size, st.st_mtime_ns)


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(rules.MAX_JSON_BYTES + 1)
    except OSError as exc:
        raise RequestError([Issue("", f"cannot read {path.name}: {exc.strerror or exc}")]) from exc
