"""Where every input hands its requests: validate, check paths, journal, queue, answer.

OSC, MIDI, the drop folder and `submit` all end here, so a request is judged the same way
whatever brought it. Nothing here waits on the network except a trigger that asks Ableton
Live for its loop region, which runs as its own task.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bridge.audio import probe
from bridge.config import Preset
from bridge.daemon.context import Context
from bridge.daemon.context_checks import part_issues
from bridge.daemon.context_store import load_context, save_context
from bridge.daemon.feedback import Feedback, Origin
from bridge.errors import Issue, JobError, RequestError
from bridge.jobs.state import FINISHED, UNFINISHED, Event, EventKind, Job
from bridge.jobs.wire import Defaults, parse_request
from bridge.pipeline import JobRunner
from bridge.pipeline.admission import room_issues
from bridge.project import resolve_project
from bridge.project.paths import inside_roots, real_path, writable_issues

log = logging.getLogger(__name__)

# Fills a context's selection and clip from the DAW before a trigger (Ableton Live).
LiveReader = Callable[[Context], Awaitable[Context]]


class Intake:
    def __init__(
        self,
        runner: JobRunner,
        feedback: Feedback,
        *,
        defaults: Defaults,
        audio_roots: Sequence[Path],
        presets: Mapping[str, Preset],
        live: LiveReader | None = None,
        context_file: Path | None = None,
    ) -> None:
        self.runner = runner
        self.feedback = feedback
        self._context_file = context_file  # where the context is kept between runs
        self.context = Context() if context_file is None else load_context(context_file)
        self._defaults = defaults
        self._audio_roots = tuple(real_path(root) for root in audio_roots)
        self._presets = presets
        self._live = live
        self._journal = runner.deps.journal

    @property
    def presets(self) -> Mapping[str, Preset]:
        return self._presets

    def submit(self, data: Any, origin: Origin, *, source: str | None = None) -> Job:
        """Journal and queue a request; RequestError (and other BridgeErrors) say why not.

        A `source` (a dropped file) becomes at most one job: submitted again, say after a
        crash between taking the file and journaling its job, the known job is returned."""
        if source is not None:
            known = self._journal.by_source(source)
            if known is not None:
                return known
        request = dataclasses.replace(parse_request(data, self._defaults), source=source)
        if request.clip is not None:
            self._check_readable(request.clip.path)
        job = self.runner.submit(request)
        self.feedback.accepted(origin, job)
        return job

    def change_context(self, part: str, change: Callable[[Context], None]) -> None:
        """Apply `change` to the context if what it sets passes the rules a request obeys,
        judged now (not at the next trigger); RequestError names what is wrong."""
        candidate = self.context.copy()
        change(candidate)
        issues = part_issues(candidate, part, self._defaults)
        if issues:
            raise RequestError(issues)
        if part == "project" and candidate.project:
            self._check_project(candidate.project)
        if part == "clip" and candidate.clip:
            self._check_readable(str(candidate.clip["path"]))
            probe(Path(candidate.clip["path"]))
        self._keep(candidate)

    def clear_context(self) -> None:
        self._keep(Context())

    def _keep(self, context: Context) -> None:
        self.context = context
        if self._context_file is not None:
            save_context(self._context_file, context)

    async def trigger(self, name: str, origin: Origin) -> Job:
        """A job from the current context and an action or preset name."""
        context = self.context
        if self._live is not None:
            context = await self._live(context)
        return self.submit(context.request(name, self._presets), origin)

    def cancel(self, ref: str) -> Job:
        job = self._journal.get(ref)
        if job.status in FINISHED:
            raise JobError(f"job {job.short_id} is already {job.status}")
        if self.runner.cancel(job.id):
            return job  # the runner records it and tells the listeners
        if job.status in UNFINISHED and self._journal.running_elsewhere(job.id):
            self._journal.request_cancel(job.id)
            return job
        job = self._journal.record(
            job, Event(EventKind.CANCELLED, data={"message": "cancelled by request"})
        )
        self.feedback.finished(job)
        return job

    def status(self, ref: str) -> Job:
        """A job as it is now: as this process runs it, else as journaled."""
        job = self._journal.get(ref)
        return self.runner.current(job.id) or job

    def running_here(self, ref: str) -> bool:
        return self.runner.current(self._journal.get(ref).id) is not None

    def _check_project(self, folder: str) -> None:
        # A typo must not become a folder: a controller names a project that exists.
        if not Path(folder).is_dir():
            message = f"{folder} is not a folder; create the project first, or check its name"
            raise RequestError([Issue("project.folder", message)])
        deps = self.runner.deps
        project = resolve_project(folder, deps.allowed_roots)
        issues = writable_issues(project, deps.results_folder) or room_issues(project, 0)
        if issues:
            raise RequestError(issues)

    def _check_readable(self, path: str) -> None:
        # Symlinks resolved first, so a link cannot lead a request out of the allowed roots.
        real = real_path(Path(path))
        if not inside_roots(real, self._audio_roots):
            roots = ", ".join(str(root) for root in self._audio_roots)
            raise RequestError(
                [
                    Issue(
                        "clip.path",
                        f"{path} is outside the folders requests may read ({roots}); "
                        "add its folder to jobs.audio_roots",
                    )
                ]
            )
        if not os.path.isfile(real):
            raise RequestError([Issue("clip.path", f"no such file: {path}")])
