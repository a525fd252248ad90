"""A check's verdict and how it is printed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

log = logging.getLogger(__name__)


Status = Literal["ok", "warn", "fail"]
OK: Final = "ok"
WARN: Final = "warn"
FAIL: Final = "fail"
LABELS: Final[dict[str, str]] = {OK: "ok", WARN: "warn", FAIL: "FAIL"}
_RANK: Final[dict[str, int]] = {OK: 0, WARN: 1, FAIL: 2}


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def render(check: Check) -> str:
    """`ok    config       detail → fix: ...`: columns line up for the eye, and for grep."""
    line = f"{LABELS[check.status]:<6}{check.name:<13}{check.detail}"
    return f"{line} → fix: {check.fix}" if check.fix else line


def guarded(name: str, run: Callable[[], Check]) -> Check:
    """The check's verdict, or a failed line naming what it raised by surprise."""
    try:
        return run()
    except Exception as exc:
        log.debug("doctor: the %s check raised", name, exc_info=True)
        return Check(
            name,
            FAIL,
            f"the check itself failed: {type(exc).__name__}: {exc}",
            "this is a bug in producer-bridge: run `producer-bridge -vv doctor` and report "
            "the traceback",
        )


def exit_code(checks: Iterable[Check]) -> int:
    return 1 if any(check.status == FAIL for check in checks) else 0


def merge(name: str, parts: Sequence[Check]) -> Check:
    """One line from several findings: the worst status, every detail and fix."""
    worst = max(parts, key=lambda part: _RANK[part.status]).status
    fixes = [part.fix for part in parts if part.fix]
    return Check(name, worst, "; ".join(part.detail for part in parts), "; ".join(fixes))


# config ---------------------------------------------------------------------------------
