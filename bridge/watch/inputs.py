"""The two kinds of input, once the watcher finds one complete: a clip in an action folder
(with its sidecar, if it has one) and a request file in requests/."""

from __future__ import annotations

from pathlib import Path

from bridge.errors import RequestError
from bridge.jobs.wire import parse_json_object
from bridge.watch import drop as rules
from bridge.watch.drop import Drop, Group, Settling, Signature
from bridge.watch.handover import Handover
from bridge.watch.probe import read, signature


class ClipInput:
    """An audio file: waits for a sidecar being written, refuses an empty file or a sidecar
    that contradicts its folder, and hands the rest over as a request for the folder's action."""

    def __init__(
        self, settling: Settling, handover: Handover, *, settle: float, pair_wait: float
    ) -> None:
        self._settling = settling
        self._handover = handover
        self._settle = settle
        self._pair_wait = pair_wait

    def take(self, group: Group, drop: Drop, sig: Signature, now: float) -> None:
        path = group.paths[0]
        ready, sidecar = self._sidecar(path, now)
        if not ready:
            return
        if sidecar is not None:
            group = Group(group.stem, (path, sidecar))
        if sig.size == 0:
            self._handover.reject(group, drop, rules.empty_reason(path.name))
            return
        try:
            data = None
            if sidecar is not None:
                data = parse_json_object(read(sidecar), sidecar.name)
                rules.check_sidecar(drop.action, data, sidecar.name)
        except RequestError as exc:
            self._handover.reject(group, drop, exc.details())
            return
        self._handover.take_over(group, drop, data)

    def _sidecar(self, audio: Path, now: float) -> tuple[bool, Path | None]:
        """(ready, the clip's sidecar or None); not ready while the sidecar is being written,
        and then the clip is checked again when the sidecar is."""
        for name in rules.sidecar_names(audio.name):
            candidate = audio.with_name(name)
            sig = signature(candidate)
            if sig is None:
                continue
            self._settling.saw(candidate, sig, now)
            if self._settling.check(candidate, now, trust_close=True):
                return True, candidate
            self._settling.retry(audio, self._settling.when(candidate) or now + self._settle)
            return False, None
        # None yet: a sidecar may still come a little after its clip.
        due = (self._settling.quiet_since(audio) or now) + self._settle + self._pair_wait
        if now < due:
            self._settling.retry(audio, due)
            return False, None
        return True, None


class RequestInput:
    """A request file: passed on as it is once it holds a JSON object, refused otherwise."""

    def __init__(self, handover: Handover) -> None:
        self._handover = handover

    def take(self, group: Group, drop: Drop) -> None:
        path = group.paths[0]
        try:
            data = parse_json_object(read(path), path.name)
        except RequestError as exc:
            self._handover.reject(group, drop, exc.details())
            return
        self._handover.take_over(group, drop, data)
