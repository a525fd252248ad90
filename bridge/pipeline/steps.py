"""One job's chain of steps, each journaled before and after it runs.

A step first looks at what the job already knows: a task id is polled rather
than created again, a file already fetched is not fetched again. Before a billed create
POST an intent is committed; its task id is committed as soon as it arrives. The other
events are handed to the journal without waiting (`recording`), and the notify step
starts only once everything before it is committed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bridge.api.retry import reporting_waits
from bridge.audio import AudioInfo, cut_clip, prepare_upload, probe
from bridge.audio.clips import upload_suffix
from bridge.errors import (
    DownloadError,
    Issue,
    RequestError,
    ServerError,
    StagingError,
    SubmitUncertainError,
    TaskFailedError,
)
from bridge.files import remove_temporaries
from bridge.jobs.model import STEMS_ONLY
from bridge.jobs.placement import UploadSpan, time_issues, upload_request, upload_window
from bridge.jobs.results import TaskStatus
from bridge.jobs.state import Event, EventKind, Job, Step, attention_for_lost_create, is_billed
from bridge.pipeline.deps import Deps, NeedsAttention, Progress
from bridge.pipeline.ledger import new_cost
from bridge.pipeline.output import write_results
from bridge.pipeline.recording import Recorder

log = logging.getLogger(__name__)

# Answers a file host gives for a link that is no longer valid.
_EXPIRED = (403, 404, 410)
_UNBILLED_CREATE_ATTEMPTS = 3
# Steps that start only once every event before them is committed: notify tells the
# listeners the results are in the project, so the journal has the write step's facts.
_AFTER_COMMIT = frozenset({Step.NOTIFY})


class JobRun(Recorder):
    """Runs one claimed job from its last checkpoint to its end."""

    def __init__(self, job: Job, deps: Deps, progress: Progress) -> None:
        super().__init__(job, deps.journal)
        self.deps = deps
        self.progress = progress
        self.work = deps.work_root / job.id
        # Clear while a create POST is in flight: its answer must be journaled before a stop.
        self.settled = asyncio.Event()
        self.settled.set()

    async def run(self) -> Job:
        """Every remaining step. Raises BridgeError, NeedsAttention or CancelledError."""
        # On the provider it was judged for, whichever api.provider names now.
        self.deps = self.deps.for_provider(self.job.request.provider)
        self.work.mkdir(parents=True, exist_ok=True)
        remove_temporaries(self.work)
        steps: dict[Step, Callable[[], Awaitable[None]]] = {
            Step.STAGE: self._stage,
            Step.UPLOAD: self._upload,
            Step.GENERATE: self._generate,
            Step.DOWNLOAD: self._download,
            Step.STEMS: self._stems,
            Step.WRITE: self._write,
            Step.NOTIFY: self._notify,
        }
        with reporting_waits(self._waiting):
            for step in self.job.remaining():
                started = Event(EventKind.STARTED, step)
                if step in _AFTER_COMMIT:
                    await self.commit(started)
                else:
                    self.hand_in(started)
                await steps[step]()
                # Confirmed by the next commit: the next step's start, or the completion,
                # which the job then knows in the same moment as the last step's end.
                self.note(EventKind.DONE)
        return await self.record(EventKind.COMPLETED)

    def _waiting(self, seconds: float, reason: str) -> None:
        self.progress.waiting(self.job.step or "", seconds, reason)

    # Creating and waiting -----------------------------------------------------------

    async def _create(self, key: str, send: Callable[[], Awaitable[str]]) -> str:
        """The task id for `key`: the known one, or a new one after a journaled intent."""
        known = self.job.facts.tasks.get(key)
        if known is not None:
            log.info("job %s: %s task %s is known; polling it again", self.job.short_id, key, known)
            return known
        billed = is_billed(key)
        if billed and key in self.job.facts.intents:
            raise NeedsAttention(attention_for_lost_create(self.job, key))
        for attempt in range(1, _UNBILLED_CREATE_ATTEMPTS + 1):
            await self._intend(key, billed)
            try:
                task_id = await self._sending(send)
            except (SubmitUncertainError, ServerError) as exc:
                # Sent, and the service may have acted on it: only a person may send it again.
                if billed:
                    raise NeedsAttention(attention_for_lost_create(self.job, key, exc)) from exc
                await self.record(EventKind.FORGET, key=key)
                if attempt == _UNBILLED_CREATE_ATTEMPTS:
                    raise
                log.warning("job %s: %s: %s; sending again", self.job.short_id, key, exc)
                continue
            except (asyncio.CancelledError, KeyboardInterrupt):
                # Stopped while the request was on its way: it may have arrived. A billed one
                # keeps its intent, so that only a person sends it again.
                if not billed:
                    await self.record(EventKind.FORGET, key=key)
                raise
            except BaseException:
                # Refused or never sent: nothing to worry about.
                await self.record(EventKind.FORGET, key=key)
                raise
            # Handed in: the task is polled while the answer is committed (a poll changes
            # nothing), and a stop waits for that commit, not for the poll.
            self.note(EventKind.SUBMITTED, key=key, taskId=task_id)
            self.when_committed(self.settled.set)
            return task_id
        raise AssertionError("unreachable")

    async def _intend(self, key: str, billed: bool) -> None:
        """Journal the intent to send a create. A stop that sees it waits for the answer:
        `settled` is clear from now until the answer is journaled (or nothing was sent)."""
        self.settled.clear()
        try:
            if billed:
                # Committed and synced on its own, after every event before it, and before
                # the POST, so that it is never sent twice.
                await self.settle()
            await self.keep(EventKind.INTENT, durable=billed, key=key)
        except BaseException:
            self.settled.set()
            raise

    async def _sending(self, send: Callable[[], Awaitable[str]]) -> str:
        """Send a create; `settled` stays clear until its answer is journaled (`_create`)."""
        try:
            return await send()
        except BaseException:
            self.settled.set()
            raise

    def _on_status(self, step: str, key: str) -> Callable[[TaskStatus], None]:
        last: list[str] = []

        def report(status: TaskStatus) -> None:
            self.progress.task(step, status)
            # Journaled when it changes: a poll that learns nothing new costs no disk write.
            if last != [status.status]:
                last[:] = [status.status]
                self.note(EventKind.STATUS, key=key, status=status.status, taskId=status.task_id)

        return report

    async def _wait(self, key: str, wait: Callable[[], Awaitable[Any]]) -> Any:
        task_id, sent_at = self.job.facts.tasks.get(key), self.job.created_at
        try:
            found = await wait()
        except TaskFailedError:
            # Kept in the history; a retry of the job then creates the task afresh.
            await self.record(EventKind.FORGET, key=key, failed=True)
            await self._cost(key, task_id, sent_at)
            raise
        await self._cost(key, task_id, sent_at)
        return found

    async def _cost(self, key: str, task_id: str | None, sent_at: float) -> None:
        """The ledger: what a billed task cost, once it has ended (refunds included)."""
        cost = await new_cost(self.deps.usage, key, task_id, self.job.facts.credits, sent_at)
        if cost:
            self.facts({"credits": cost})

    # Steps ------------------------------------------------------------------------

    async def _stage(self) -> None:
        clip = self.job.request.clip
        if clip is None:
            raise RequestError([Issue("clip", f"{self.job.request.action} needs a clip")])
        info = await asyncio.to_thread(probe, Path(clip.path))
        span = upload_window(self.job.request, info.duration, info.sample_rate, self.deps.context)
        self.progress.step("stage", f"{Path(clip.path).name} from {span.start:g} s")
        upload = await asyncio.to_thread(self._upload_file, info, span.start, span.duration)
        _check_times(self.job, span, upload)
        self.facts({"span": dataclasses.asdict(span), "work": {"upload": str(upload.path)}})
        self.progress.finished("stage", f"{upload.duration:.2f} s at {upload.sample_rate} Hz")

    def _upload_file(self, info: AudioInfo, start: float, duration: float) -> AudioInfo:
        fmt = self.deps.upload_format
        if start == 0 and duration >= info.duration:
            return probe(prepare_upload(info, self.work, fmt))
        dest = self.work / f"upload{upload_suffix(info, fmt)}"
        dest.unlink(missing_ok=True)  # a cut left by an interrupted run: cut again
        return cut_clip(info, start, duration, dest)

    async def _upload(self) -> None:
        self.progress.step("upload", "clip")
        known = self.job.facts.tasks.get("upload")
        uploaded = None if known is None else await self._resumed_upload(known)
        if uploaded is None:
            uploaded = await self._stage_and_upload()
        self.facts({"audio_ids": {"source": uploaded.audio_id}})
        self.progress.finished("upload", f"audioId {uploaded.audio_id}")

    async def _resumed_upload(self, task_id: str) -> Any:
        """The upload an earlier run sent, or None if it failed: the URL it fetches was
        served by that run's stager, which may have stopped with it. An upload is not
        billed, so the clip is then staged and uploaded again."""
        try:
            return await self._wait_upload(task_id)
        except TaskFailedError as exc:
            log.warning(
                "job %s: the upload sent before the restart failed (%s); "
                "staging the clip and uploading it again",
                self.job.short_id,
                exc,
            )
            return None

    async def _stage_and_upload(self) -> Any:
        stager = self.deps.stager
        if stager is None:
            raise StagingError("this job has a clip to upload but no stager is running")
        upload = self.job.facts.work.get("upload")
        if upload is None or not _is_file(upload):
            raise StagingError("the staged clip is missing; retry the job to cut it again")
        # A bucket upload takes a while: off the loop that answers the DAW.
        staged = await asyncio.to_thread(stager.stage, Path(upload))
        try:
            self.facts({"staged_url": staged.url})
            task_id = await self._create("upload", lambda: self.deps.client.upload(staged.url))
            return await self._wait_upload(task_id)
        finally:
            await asyncio.shield(asyncio.to_thread(stager.unstage, staged))

    async def _wait_upload(self, task_id: str) -> Any:
        client, report = self.deps.client, self._on_status("upload", "upload")
        return await self._wait("upload", lambda: client.wait_upload(task_id, report))

    async def _generate(self) -> None:
        request = self.job.request.audio
        source = self.job.facts.audio_ids.get("source") or request.audio_id
        if request.action == STEMS_ONLY:
            # Nothing to generate: the uploaded clip is what the stems are split from.
            span = self.job.facts.span or {}
            self.facts(
                {
                    "clips": [
                        {
                            "audioId": source,
                            "title": request.title,
                            "duration": span.get("duration"),
                        }
                    ],
                    "audio_ids": {"result:1": source},
                }
            )
            return
        if source is not None:
            uploaded = self.job.facts.span
            request = upload_request(self.job.request, UploadSpan(**uploaded) if uploaded else None)
            request = dataclasses.replace(request, audio_id=source)
        self.progress.step("generate", request.action)
        client = self.deps.client
        judged = self.job.request  # the provider and contract it was judged for
        from_upload = self.job.facts.audio_ids.get("source") is not None
        task_id = await self._create(
            "generate",
            lambda: client.create_audio(
                request, judged.contract, judged.provider, uploaded=from_upload
            ),
        )
        clips = await self._wait(
            "generate", lambda: client.wait_clips(task_id, self._on_status("generate", "generate"))
        )
        self.facts(
            {
                "clips": [
                    {"audioId": c.audio_id, "title": c.title, "duration": c.duration} for c in clips
                ],
                "audio_ids": {f"result:{i}": c.audio_id for i, c in enumerate(clips, start=1)},
            }
        )
        self.progress.finished("generate", f"{len(clips)} clip(s)")

    async def _download(self) -> None:
        fmt = self.job.request.options.fetch_format
        for index, clip in enumerate(self.job.facts.clips, start=1):
            key = f"result:{index}"
            if _have(self.job, key):
                continue

            async def link(audio_id: str = clip["audioId"], key: str = key) -> dict[str, str]:
                client = self.deps.client
                task_id = await self._create(key, lambda: client.download(audio_id, fmt))
                found = await self._wait(
                    key, lambda: client.wait_download(task_id, self._on_status("download", key))
                )
                return {key: found.url}

            await self._fetch_linked(key, f"result_{index}.{fmt}", link)

    async def _stems(self) -> None:
        client = self.deps.client
        for index, clip in enumerate(self.job.facts.clips, start=1):
            key = f"stems:{index}"

            async def links(audio_id: str = clip["audioId"], key: str = key) -> dict[str, str]:
                task_id = await self._create(key, lambda: client.stems(audio_id))
                found = await self._wait(
                    key, lambda: client.wait_stems(task_id, self._on_status("stems", key))
                )
                return {f"{key}:{name}": url for name, url in found.items()}

            if not any(k.startswith(key + ":") for k in self.job.facts.links):
                self.facts({"links": await links()})
            for link_key in sorted(k for k in self.job.facts.links if k.startswith(key + ":")):
                if not _have(self.job, link_key):
                    name = link_key.replace(":", "_") + ".wav"
                    await self._fetch_linked(link_key, name, links)

    async def _fetch_linked(
        self, key: str, name: str, new_links: Callable[[], Awaitable[dict[str, str]]]
    ) -> None:
        """Fetch the file behind `key` into the work folder, asking again for an expired link."""
        for _ in range(2):
            if key not in self.job.facts.links:
                self.facts({"links": await new_links()})
            dest = self.work / name
            dest.unlink(missing_ok=True)  # fetched but not journaled before a stop: again
            step = f"fetch {name}"
            self.progress.step(step, name)
            try:
                await self.deps.client.fetch(self.job.facts.links[key], dest, self._bytes(step))
            except DownloadError as exc:
                if exc.status_code not in _EXPIRED:
                    raise
                log.warning("job %s: link for %s expired; asking again", self.job.short_id, key)
                await self.record(
                    EventKind.FORGET, key=key.rsplit(":", 1)[0] if key.startswith("stems") else key
                )
                continue
            self.facts({"work": {key: str(dest)}})
            self.progress.finished(step, str(dest))
            return
        raise DownloadError(f"the link for {key} kept failing after being asked for again")

    def _bytes(self, step: str) -> Callable[[int, int | None], None]:
        return lambda done, total: self.progress.transfer(step, done, total)

    async def _write(self) -> None:
        self.progress.step("write", self.job.request.project)
        self.job = await asyncio.to_thread(
            write_results,
            self.job,
            allowed_roots=self.deps.allowed_roots,
            results_folder=self.deps.results_folder,
            record=self.facts_now,
            note=self.facts,
            splicing=self.deps.splicing,
        )
        self.progress.finished("write", self.job.facts.manifest or "")

    async def _notify(self) -> None:
        # The files are written and journaled: a listener that fails must not fail the job.
        try:
            await self.deps.notify(self.job)
        except Exception:
            log.exception("job %s: telling the listeners failed", self.job.short_id)


def _have(job: Job, key: str) -> bool:
    path = job.facts.work.get(key)
    return path is not None and _is_file(path)


def _is_file(path: str) -> bool:
    return Path(path).is_file()


def _check_times(job: Job, span: UploadSpan, upload: AudioInfo) -> None:
    issues = time_issues(upload_request(job.request, span), upload.duration)
    if issues:
        raise RequestError(issues)
