"""The drop folder's rules, without I/O: what a path means, when a file is complete, how a
sidecar becomes a request, and which names inputs get in done/ and failed/.

    <drop>/<action>/<name>.wav   a clip for that action (also .aif .aiff .flac .ogg .mp3)
    <drop>/<action>/<name>.json  its optional sidecar: a partial request (same stem)
    <drop>/requests/<name>.json  a complete request, passed on as it is
    <drop>/done/, <drop>/failed/ where inputs go once handled; never read as inputs

The watcher does the filesystem work and asks these functions what to do, so every rule
here is tested without a disk, a clock or a thread.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path, PurePath
from typing import Any, Final

from bridge.errors import Issue, RequestError
from bridge.jobs.model import JOB_ACTIONS
from bridge.jobs.request import CREATE

# create_music takes no audio, so it has no folder: a script asks for it through requests/.
CLIP_ACTIONS: Final = tuple(action for action in JOB_ACTIONS if action != CREATE)
AUDIO_SUFFIXES: Final = (".wav", ".aif", ".aiff", ".flac", ".ogg", ".mp3")
JSON_SUFFIX: Final = ".json"
ERROR_SUFFIX: Final = ".error.txt"
# Names that browsers, editors and copy tools use while a file is still being written.
TEMP_SUFFIXES: Final = (".tmp", ".part", ".crdownload", ".download")
# Files the desktop itself puts in any folder a user opens; they are nobody's input.
SYSTEM_NAMES: Final = frozenset({"desktop.ini", "thumbs.db", "icon\r"})
# A sidecar or request is a few hundred bytes; anything far larger was dropped by mistake.
STATUS_FILE: Final = "status.json"  # written by the daemon into the drop folder's root
NAME_MAX_BYTES: Final = 255  # the longest file name most filesystems take, in UTF-8 bytes

_NUMBERED = re.compile(r"(.*) \((\d{1,9})\)", re.DOTALL)


class Folder(StrEnum):
    """The drop folder's own subfolders, beside one per action in CLIP_ACTIONS."""

    REQUESTS = "requests"  # whole request files: inputs
    DONE = "done"  # where taken inputs go; never read as inputs
    FAILED = "failed"  # where refused ones go, each beside an error report


class Kind(Enum):
    CLIP = "clip"  # audio in an action folder
    SIDECAR = "sidecar"  # .json in an action folder: waits for its audio
    REQUEST = "request"  # .json in requests/
    REJECT = "reject"  # goes to failed/ with `reason`
    IGNORE = "ignore"  # not an input: left alone


@dataclass(frozen=True)
class Drop:
    """What one path in the drop folder means."""

    kind: Kind
    folder: str = ""  # the subfolder it was dropped in ("" for the drop folder itself)
    reason: str = ""  # why it is rejected, and what to do instead

    @property
    def action(self) -> str:
        return self.folder if self.folder in CLIP_ACTIONS else ""


IGNORED: Final = Drop(Kind.IGNORE)


def split_name(name: str) -> tuple[str, str]:
    """`take.1.WAV` -> (`take.1`, `.WAV`); a leading or trailing dot is not a suffix."""
    dot = name.rfind(".")
    if dot <= 0 or dot == len(name) - 1:
        return name, ""
    return name[:dot], name[dot:]


def is_ignored_name(name: str) -> bool:
    """Hidden files, temporary names of writers still at work, and desktop system files."""
    lower = name.lower()
    return name.startswith((".", "~")) or lower.endswith(TEMP_SUFFIXES) or lower in SYSTEM_NAMES


def classify(root: PurePath, path: PurePath) -> Drop:
    """What `path` means for a drop folder at `root` (both absolute, or both relative)."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return IGNORED
    if not parts or is_ignored_name(parts[-1]):
        return IGNORED
    name = parts[-1]
    if len(parts) == 1 and name == STATUS_FILE:
        return IGNORED  # the daemon's own view of its jobs
    if len(parts) == 1:
        reason = (
            f"put it in one of the action folders: {_action_list()} "
            f"(or a request file in {Folder.REQUESTS}/)"
        )
        return Drop(Kind.REJECT, "", reason)
    if len(parts) > 2:
        return IGNORED  # inside a subfolder of a subfolder: not watched, not ours
    folder, suffix = parts[0], split_name(name)[1].lower()
    if folder in CLIP_ACTIONS:
        if suffix in AUDIO_SUFFIXES:
            return Drop(Kind.CLIP, folder)
        if suffix == JSON_SUFFIX:
            return Drop(Kind.SIDECAR, folder)
        expected = ", ".join(AUDIO_SUFFIXES)
        return Drop(Kind.REJECT, folder, f"not an audio file: {name} (expected {expected})")
    if folder == Folder.REQUESTS:
        if suffix == JSON_SUFFIX:
            return Drop(Kind.REQUEST, folder)
        reason = (
            f"not a request file: {name} (requests/ takes .json request files; "
            f"put audio into one of the action folders: {_action_list()})"
        )
        return Drop(Kind.REJECT, folder, reason)
    return IGNORED  # done/, failed/, and folders the user made


def sidecar_names(audio_name: str) -> tuple[str, ...]:
    """The names a clip's sidecar may have, in the order they are looked for."""
    stem = split_name(audio_name)[0]
    return (stem + JSON_SUFFIX, stem + JSON_SUFFIX.upper())


def lone_sidecar_reason(name: str, waited: float) -> str:
    stem = split_name(name)[0]
    return (
        f"{name} is a sidecar, but no audio file named {stem} ({', '.join(AUDIO_SUFFIXES)}) "
        f"came beside it within {waited:g} s: drop its clip into the same folder with the "
        "same name, or put a whole request into requests/"
    )


def empty_reason(name: str) -> str:
    return f"empty file: {name} has 0 bytes (export or copy it again and let the copy finish)"


def free_stem(stem: str, suffixes: Sequence[str], taken: Container[str]) -> str:
    """A stem such that no `stem + suffix` is in `taken`: `take`, then `take (2)`, `take (3)`…

    One stem for a whole group (audio, sidecar, error report) keeps their names in step.
    A stem already numbered (`take (2)`) counts on from its number. Names are shortened to
    fit in NAME_MAX_BYTES.
    """
    longest = max(suffixes, key=_nbytes, default="")
    numbered = _NUMBERED.fullmatch(stem)
    base, count = (numbered[1], int(numbered[2])) if numbered else (stem, 1)
    candidate = _fit(stem, "", longest)
    while any(candidate + suffix in taken for suffix in suffixes):
        count += 1
        candidate = _fit(base, f" ({count})", longest)
    return candidate


def check_sidecar(action: str, sidecar: Mapping[str, Any], name: str) -> None:
    """Raise RequestError if a sidecar contradicts its folder or has no room for the clip."""
    issues: list[Issue] = []
    named = sidecar.get("action")
    if named is not None and named != action:
        fix = f'remove "action" from {name}'
        if named in CLIP_ACTIONS:
            fix += f", or move the clip and {name} into {named}/"
        message = f"{name} asks for {named!r} but the clip is in {action}/: the folder decides"
        issues.append(Issue("action", f"{message}; {fix}"))
    clip = sidecar.get("clip")
    if clip is not None and not isinstance(clip, dict):
        issues.append(
            Issue("clip", "must be an object (itemPosition, takeOffset, playrate, length)")
        )
    if issues:
        raise RequestError(issues)


def clip_request(action: str, sidecar: Mapping[str, Any] | None, clip_path: str) -> dict[str, Any]:
    """The request for a dropped clip: the sidecar's fields, the folder's action, the version
    defaulted to 1, and `clip.path` set to the clip (its other clip fields are kept)."""
    request: dict[str, Any] = copy.deepcopy(dict(sidecar)) if sidecar else {}
    check_sidecar(action, request, "the sidecar")
    request.setdefault("version", 1)
    request["action"] = action
    request["clip"] = {**(request.get("clip") or {}), "path": clip_path}
    return request


def retry_hint(folder: str, name: str) -> str:
    """What to do once the problem is fixed, for `name` dropped into `folder`."""
    is_audio = split_name(name)[1].lower() in AUDIO_SUFFIXES
    if folder in CLIP_ACTIONS and is_audio:
        return (
            f"Fix the problem above, then move {name} (and its .json sidecar, if any) "
            f"from failed/ back into {folder}/ to try again."
        )
    if folder in CLIP_ACTIONS:
        return f"Only audio files ({', '.join(AUDIO_SUFFIXES)}) go into {folder}/."
    if folder == Folder.REQUESTS:
        return "Fix the request, then write it into requests/ again."
    return (
        f"Drop audio files into one of the action folders ({_action_list()}) "
        "and request files into requests/."
    )


def error_report(
    *, names: Sequence[str], folder: str, dropped_into: str, reason: str, when: str
) -> str:
    """The text of `<name>.error.txt` beside a failed input: what, why, and what to do.

    `folder` is the subfolder it was dropped in ("" for the drop folder itself)."""
    return "\n".join(
        [
            f"Not submitted: {' + '.join(names)}",
            f"Dropped into:  {dropped_into}",
            f"When:          {when}",
            "",
            "Why:",
            reason,
            "",
            retry_hint(folder, names[0]),
            "",
        ]
    )


@dataclass(frozen=True)
class Group:
    """An input and its sidecar, whose names share one stem wherever they move."""

    stem: str
    paths: tuple[Path, ...]  # the input first, then its sidecar if any

    @property
    def suffixes(self) -> list[str]:
        return [path.name[len(self.stem) :] for path in self.paths]


@dataclass(frozen=True)
class Signature:
    """What a stat says about a file's content without reading it."""

    size: int
    mtime_ns: int


@dataclass
class _Entry:
    sig: Signature
    since: float  # when this signature was first seen, or the file last reported changed
    closed: bool  # a close-after-write was reported and nothing changed after it
    check_at: float | None  # None: parked until the file changes


class Settling:
    """When is a file complete? Fed what the caller saw and when; it does no I/O itself.

    A file is complete once its size and mtime have not changed for `settle` seconds, or,
    where the caller trusts it, once a close-after-write was reported and the size and mtime
    have stayed the same for `grace` seconds after it. The caller passes a fresh stat to
    `saw` just before asking `check`, so "unchanged" always means "unchanged until now".
    """

    def __init__(self, settle: float, grace: float) -> None:
        self._settle = settle
        self._grace = min(grace, settle)
        self._entries: dict[Path, _Entry] = {}

    def saw(
        self, path: Path, sig: Signature, now: float, *, changed: bool = False, closed: bool = False
    ) -> None:
        """Record a stat of `path`; `changed`/`closed` say an event reported a write/close."""
        entry = self._entries.get(path)
        if entry is None or entry.sig != sig or changed or closed:
            wait = self._grace if closed else self._settle
            self._entries[path] = _Entry(sig, now, closed, now + wait)

    def check(self, path: Path, now: float, *, trust_close: bool) -> bool:
        """Whether `path` is complete now; if not, its next check is scheduled."""
        entry = self._entries[path]
        quiet = now - entry.since
        if quiet >= self._settle or (trust_close and entry.closed and quiet >= self._grace):
            return True
        short = trust_close and entry.closed
        entry.check_at = entry.since + (self._grace if short else self._settle)
        return False

    def quiet_since(self, path: Path) -> float | None:
        """Since when `path` has not changed (None: not known)."""
        entry = self._entries.get(path)
        return None if entry is None else entry.since

    def retry(self, path: Path, at: float) -> None:
        if path in self._entries:
            self._entries[path].check_at = at

    def when(self, path: Path) -> float | None:
        """When `path` is next due to be checked (None: parked, or not known)."""
        entry = self._entries.get(path)
        return None if entry is None else entry.check_at

    def park(self, path: Path) -> None:
        """No more checks until the file changes (a lone sidecar, a file that cannot move)."""
        if path in self._entries:
            self._entries[path].check_at = None

    def forget(self, path: Path) -> None:
        self._entries.pop(path, None)

    def due(self, now: float) -> list[Path]:
        due = [(e.check_at, p) for p, e in self._entries.items() if _le(e.check_at, now)]
        return [path for _, path in sorted(due)]

    def next_check(self) -> float | None:
        times = [e.check_at for e in self._entries.values() if e.check_at is not None]
        return min(times, default=None)

    def paths(self) -> set[Path]:
        return set(self._entries)

    def __contains__(self, path: object) -> bool:
        return path in self._entries


def _le(at: float | None, now: float) -> bool:
    return at is not None and at <= now


def _invalid(message: str) -> RequestError:
    return RequestError([Issue("", message)])


def _action_list() -> str:
    return ", ".join(f"{action}/" for action in CLIP_ACTIONS)


def _nbytes(text: str) -> int:
    # surrogatepass: names decoded with surrogateescape (bytes that are not UTF-8) still count.
    return len(text.encode("utf-8", "surrogatepass"))


def _fit(base: str, marker: str, suffix: str) -> str:
    room = NAME_MAX_BYTES - _nbytes(marker + suffix)
    while base and _nbytes(base) > room:
        base = base[:-1]
    return base + marker
