"""Taking inputs out of the drop folders: into done/ and on to `submit`, or into failed/
beside an error report; and handing over again what a stopped daemon took.

A user's file is never deleted or overwritten: inputs move by hard link then unlink (or a
checked rename where links are not supported), to a name that is free.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bridge.errors import BridgeError, RequestError, explain
from bridge.files import TEMP_SUFFIX, remove_leftovers, write_bytes_atomic
from bridge.jobs.wire import parse_json_object
from bridge.watch import drop as rules
from bridge.watch import pending
from bridge.watch.drop import Drop, Folder, Group, Kind, Settling
from bridge.watch.moves import move_group
from bridge.watch.probe import read

log = logging.getLogger(__name__)

Submit = Callable[[dict[str, Any], Path], str]
Rejected = Callable[[Path, str], None]


class Handover:
    """Moves inputs out of `root`'s folders and tells the daemon: `submit(request, source)`
    with each taken one (`source` in done/), `on_rejected(source, reason)` with each
    refused one (`source` in failed/). An input that cannot move is parked in `settling`."""

    def __init__(
        self, root: Path, settling: Settling, submit: Submit, on_rejected: Rejected | None
    ) -> None:
        self._root = root
        self._done = root / Folder.DONE
        self._failed = root / Folder.FAILED
        self._settling = settling
        self._submit = submit
        self._on_rejected = on_rejected

    def take_over(self, group: Group, drop: Drop, data: dict[str, Any] | None) -> None:
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

    def reject(self, group: Group, drop: Drop, reason: str) -> None:
        failed = self._take(group, self._failed, extra=(rules.ERROR_SUFFIX,))
        if failed is not None:
            self._report(failed, drop, reason)

    def recover(self) -> None:
        """Hand over again what a stopped daemon took but may not have journaled, and
        remove the temporary files of markers and reports a stop cut short (a marker's
        input never moved, so it is still where it was dropped and is taken as usual)."""
        remove_leftovers(self._done, f".{pending.PREFIX}*{TEMP_SUFFIX}")
        remove_leftovers(self._failed, f".*{rules.ERROR_SUFFIX}.*{TEMP_SUFFIX}")
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
                request = parse_json_object(read(path), path.name)
        except RequestError as exc:
            log.error("drop folder: %s cannot be handed over again: %s", path, exc.details())
            return
        self._hand_over(request, Group(stem, tuple(paths)), drop, stem)

    def _hand_over(self, request: dict[str, Any], moved: Group, drop: Drop, stem: str) -> None:
        source = moved.paths[0]
        try:
            job = self._submit(request, source)
        except BridgeError as exc:
            reason = explain(exc)
        except Exception as exc:
            log.exception("drop folder: submitting %s failed unexpectedly", source)
            reason = explain(exc)
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
