"""What commands that run jobs share: the service options, and progress lines that name
the job. The runner itself is built in `bridge.app`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridge.app import ServiceChoice
    from bridge.jobs.state import Job
    from bridge.pipeline import Progress


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    backend = parser.add_argument_group("service")
    backend.add_argument(
        "--api-url",
        help="API base URL (default: api.url, or the built-in emulator when no API key is set)",
    )
    backend.add_argument(
        "--emulator",
        action="store_true",
        help="use the built-in emulator even when an API key is set",
    )


def service_choice(args: argparse.Namespace) -> ServiceChoice:
    """The service the backend options name."""
    from bridge.app import ServiceChoice

    return ServiceChoice(api_url=args.api_url, emulator=args.emulator)


class Prefixed:
    """Progress of one of several jobs: each step named with the job's short id."""

    def __init__(self, inner: Progress, job: Job) -> None:
        self._inner = inner
        self._prefix = f"{job.short_id} "

    def step(self, step: str, detail: str) -> None:
        self._inner.step(self._prefix + step, detail)

    def task(self, step: str, status: Any) -> None:
        self._inner.task(self._prefix + step, status)

    def transfer(self, step: str, done: int, total: int | None) -> None:
        self._inner.transfer(self._prefix + step, done, total)

    def waiting(self, step: str, seconds: float, reason: str) -> None:
        self._inner.waiting(self._prefix + step, seconds, reason)

    def finished(self, step: str, detail: str) -> None:
        self._inner.finished(self._prefix + step, detail)
