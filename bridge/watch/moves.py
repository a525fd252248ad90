"""Moving a dropped input (and its sidecar) between folders: never replacing a file, never
splitting an input from its sidecar."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from bridge.files import fsync_dir, publish
from bridge.watch import drop as rules
from bridge.watch.drop import Group

log = logging.getLogger(__name__)

_MOVE_ATTEMPTS: Final = 20


class _Taken:
    """The names already used in a folder, asked one at a time (done/ may hold thousands)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and os.path.lexists(self._folder / name)


def move_group(group: Group, folder: Path, *, stem: str, extra: Sequence[str] = ()) -> Group:
    """Move every member of `group` into `folder` under one free stem; never replaces."""
    folder.mkdir(exist_ok=True)  # the user may have removed done/ or failed/
    suffixes = group.suffixes
    current = list(group.paths)
    for _ in range(_MOVE_ATTEMPTS):
        new_stem = rules.free_stem(stem, [*suffixes, *extra], _Taken(folder))
        try:
            for index, suffix in enumerate(suffixes):
                target = folder / (new_stem + suffix)
                if current[index] != target:
                    _publish(current[index], target)
                    current[index] = target
        except FileExistsError:
            continue  # another writer took a name between the check and the link: next one
        except OSError:
            _put_back(current, group.paths)
            raise
        for parent in {path.parent for path in group.paths}:
            fsync_dir(parent)
        return Group(new_stem, tuple(current))
    # The members moved before the last refusal wait in `folder`: bring them back too.
    _put_back(current, group.paths)
    raise OSError(f"no free name for {group.paths[0].name} in {folder}")


def _put_back(current: list[Path], original: Sequence[Path]) -> None:
    """After a member failed to move, return the others so an input and its sidecar are
    never split between folders (best effort: a failure here is logged, nothing is lost)."""
    for now, before in zip(current, original, strict=True):
        if now != before:
            try:
                publish(now, before)
            except OSError as exc:
                log.error("drop folder: %s could not go back to %s: %s", now, before, exc)


def _publish(source: Path, target: Path) -> None:
    try:
        publish(source, target)
    except FileExistsError:
        raise
    except OSError:
        # publish links before it unlinks: if the unlink failed, take the new link back so
        # the input exists once, where the user put it.
        with contextlib.suppress(OSError):
            if source.exists() and os.path.samefile(source, target):
                target.unlink()
        raise
