"""`producer-bridge serve`: the inputs, the job runner and the feedback, wired together.

Start order matters: the OSC port is bound first, so a second daemon stops at once with a
message naming the port, before it resumes (or competes for) anyone's jobs. Stop order is
the reverse: inputs close, then the runner lets a create POST in flight journal its answer
and stops; unfinished jobs are resumed by the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from rich.console import Console

from bridge.app import ServiceChoice, open_journal, open_runner, request_defaults
from bridge.audio.devices import probe_audio
from bridge.audio.preview import PreviewDesk, SoundDeviceBackend
from bridge.config import Config, split_endpoint
from bridge.daemon.addresses import Osc
from bridge.daemon.banner import Banner
from bridge.daemon.board import StatusBoard
from bridge.daemon.context_store import CONTEXT_FILE
from bridge.daemon.feedback import Feedback, Origin
from bridge.daemon.intake import Intake
from bridge.daemon.live_reader import Placer, open_live
from bridge.daemon.midi_api import MidiHandlers
from bridge.daemon.osc_api import Handlers
from bridge.errors import ConfigError, Issue
from bridge.jobs.state import Job
from bridge.journal import Journal
from bridge.midi.mapping import parse_mapping
from bridge.midi.ports import MidiInputs
from bridge.net import is_loopback
from bridge.osc.transport import OscEndpoint, build
from bridge.pipeline import JobRunner
from bridge.watch.watcher import DropFolder

log = logging.getLogger(__name__)

SUBMIT_TIMEOUT = 30.0  # seconds a drop-folder submit may wait for the loop


class Daemon:
    def __init__(
        self,
        config: Config,
        console: Console,
        service: ServiceChoice,
        *,
        allow_remote: bool = False,
    ) -> None:
        self.config = config
        self.console = console
        self.service = service
        self.stop = asyncio.Event()
        self.banner = Banner()
        self._allow_remote = allow_remote or config.osc.allow_remote
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        # Set once the runner is up; until then the edges drop what arrives.
        self._intake: Intake | None = None
        self._osc: Handlers | None = None
        self._midi: MidiHandlers | None = None

    # Running ----------------------------------------------------------------------------

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        check_hosts(self.config, self._allow_remote, self.banner)
        mapping = parse_mapping(self.config.midi.map)
        osc = self.config.osc
        endpoint = OscEndpoint(osc.host, osc.port, self._dispatch, self._answer_here)
        async with endpoint, contextlib.AsyncExitStack() as stack:
            self.banner.osc(endpoint, self.config.osc)
            self.banner.results(self.config.output.folder())
            board = StatusBoard(self.config.drop.path())
            feedback = self._feedback(endpoint, board)
            # Live opens after the runner; a job that finishes asks it to place its results.
            placer: list[Placer] = []

            async def notify(job: Job) -> None:
                placed = await placer[0](job) if placer else None
                feedback.notify_done(job, placed)

            with open_journal(self.config) as journal:
                runner = await stack.enter_async_context(self._runner(journal, feedback, notify))
                board.service = self.banner.service
                live = await open_live(self.config.ableton, stack, self.banner)
                if live is not None and live.place is not None:
                    placer.append(live.place)
                intake = Intake(
                    runner,
                    feedback,
                    defaults=request_defaults(self.config),
                    audio_roots=[*self.config.jobs.audio_root_paths(), self.config.drop.path()],
                    presets=self.config.trigger.presets,
                    live=live.read if live is not None else None,
                    context_file=journal.path.parent / CONTEXT_FILE,
                )
                backend = SoundDeviceBackend(probe=probe_audio)
                roots = preview_roots(self.config)
                previews = stack.enter_context(PreviewDesk(roots, backend=backend))
                self._osc = Handlers(intake, self.banner.service, self.spawn, previews)
                self._answer_pings_at_once(endpoint, self._osc)
                self._midi = MidiHandlers(intake, mapping, self.spawn)
                if live is not None and live.script is not None:
                    live.script.midi = self._midi_from_live
                self._intake = intake
                await self._serve(runner, journal, board)

    def _runner(
        self, journal: Journal, feedback: Feedback, notify: Callable[[Job], Awaitable[None]]
    ) -> contextlib.AbstractAsyncContextManager[JobRunner]:
        return open_runner(
            self.service,
            self.config,
            self.console,
            journal=journal,
            stage=True,
            progress=feedback.progress_for,
            notify=notify,
            on_finished=feedback.finished,
            keep_finished=False,
            on_backend=self.banner.backend,
            extra_roots=default_projects(self.config),
        )

    async def _serve(self, runner: JobRunner, journal: Journal, board: StatusBoard) -> None:
        with contextlib.ExitStack() as inputs:
            self._open_inputs(inputs)
            resumed = runner.resume()
            for job in resumed:
                board.update(job)
            self.banner.journal(journal.path, len(resumed))
            await self.banner.credits(runner.deps.usage)
            self.banner.show(self.console)
            # Start-up is over: what it loaded stays, so full collections stop walking it
            # (they paused the loop for tens of milliseconds with 50 jobs in flight).
            gc.collect()
            gc.freeze()
            board_task = asyncio.create_task(board.run())
            async with runner.serving():
                await self.stop.wait()
                self.console.print("stopping: unfinished jobs resume at the next start")
                # Inputs stop before the runner, so nothing is accepted that cannot start.
                # On a thread: the drop folder's worker may be waiting on this loop.
                await asyncio.to_thread(inputs.close)
                await self._drain_tasks()
            board_task.cancel()
            await asyncio.gather(board_task, return_exceptions=True)

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.stop.set)
            except NotImplementedError:
                # Windows' event loops have no add_signal_handler: a plain handler, which
                # runs between bytecodes of the main thread, wakes the loop instead.
                with contextlib.suppress(ValueError):  # not the main thread
                    signal.signal(sig, lambda *_: loop.call_soon_threadsafe(self.stop.set))
            except RuntimeError:
                continue

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # Pieces -----------------------------------------------------------------------------

    def _answer_pings_at_once(self, endpoint: OscEndpoint, handlers: Handlers) -> None:
        """A ping (with an empty type tag, or none) is answered on the OSC socket's thread
        as soon as it is read, with the pong `Handlers.ping` sends, built once: a few
        microseconds holding Python's GIL instead of a parse, a dispatch and a build, so
        that it seldom waits for the main thread (bench/osc_latency.py)."""
        reply_to = self.config.osc.reply_to
        copies = [split_endpoint(reply_to)] if reply_to else []
        untagged = Osc.PING.encode() + b"\0" * (4 - len(Osc.PING) % 4)
        pong = build(Osc.PONG, handlers.pong_args())
        endpoint.answer_at_once([build(Osc.PING, []), untagged], pong, copies)

    def _feedback(self, endpoint: OscEndpoint, board: StatusBoard) -> Feedback:
        osc, reaper = self.config.osc, self.config.reaper
        feedback = Feedback(
            lambda target, address, args: endpoint.send(target, address, *args),
            reply_to=split_endpoint(osc.reply_to) if osc.reply_to else None,
            reaper=split_endpoint(reaper.osc) if reaper.osc else None,
            import_action=reaper.import_action,
            echo=lambda line: self.console.print(line, markup=False, highlight=False),
            board=board,
        )
        self.banner.reaper(reaper)
        return feedback

    def _open_inputs(self, stack: contextlib.ExitStack) -> None:
        drop = self.config.drop
        if drop.enabled:
            folder = DropFolder(
                drop.path(),
                settle=drop.settle,
                pair_wait=drop.pair_wait,
                submit=self._submit_from_thread,
                on_rejected=self._rejected_from_thread,
            )
            stack.enter_context(folder)
            folder.start()
            self.banner.drop(folder)
        else:
            self.banner.drop(None)
        midi = MidiInputs(self.config.midi.inputs, self._midi_from_thread)
        stack.enter_context(midi)
        midi.open()
        self.banner.midi(midi)

    # Input edges ------------------------------------------------------------------------

    def _dispatch(self, address: str, values: list[Any], sender: tuple[str, int]) -> None:
        if self._osc is None:
            return  # still starting: the port is bound before anything can answer
        self._osc.handle(address, values, sender)

    def _answer_here(self, address: str, values: list[Any], sender: tuple[str, int]) -> bool:
        """On the OSC socket's thread: a ping, a status or the context, answered there."""
        handlers = self._osc
        return handlers is not None and handlers.answer_here(address, values, sender)

    def _submit_from_thread(self, data: dict[str, Any], source: Path) -> str:
        """The drop folder's worker thread hands a request to the loop and waits for it."""
        assert self._loop is not None
        if "project" not in data and self.config.drop.project:
            folder = str(Path(self.config.drop.project).expanduser())
            data = {**data, "project": {"folder": folder}}

        async def submit() -> str:
            assert self._intake is not None
            origin = Origin("drop", None, source.name)
            return self._intake.submit(data, origin, source=str(source)).id

        future = asyncio.run_coroutine_threadsafe(submit(), self._loop)
        return future.result(timeout=SUBMIT_TIMEOUT)

    def _rejected_from_thread(self, source: Path, reason: str) -> None:
        if self._loop is not None and self._intake is not None:
            feedback = self._intake.feedback
            self._loop.call_soon_threadsafe(
                feedback.rejected, Origin("drop", None, source.name), str(source), reason
            )

    def _midi_from_live(self, data: list[int]) -> None:
        """MIDI from the controller chosen as ProducerBridge's Input in Live, on the loop."""
        import mido

        try:
            message = mido.Message.from_bytes(data)
        except ValueError as exc:
            log.debug("ignored MIDI from Live %r: %s", data, exc)
            return
        if self._midi is not None:
            self._midi.handle("Live", message)

    def _midi_from_thread(self, spec: str, message: Any) -> None:
        if self._loop is not None and self._midi is not None:
            self._loop.call_soon_threadsafe(self._midi.handle, spec, message)


def check_hosts(config: Config, allow_remote: bool, banner: Banner) -> None:
    """Refuse an OSC host other machines reach unless allowed; warn of what is exposed."""
    host = config.osc.host
    if not is_loopback(host) and not allow_remote:
        raise ConfigError(
            [
                Issue(
                    "osc.host",
                    f"{host} lets other machines send jobs; set osc.allow_remote = true "
                    "(or pass --allow-remote) if that is what you want",
                )
            ]
        )
    if not is_loopback(host):
        banner.warn(f"OSC listens on {host}: any machine that reaches it can run jobs")
    live = config.ableton
    if live.enabled and live.link == "abletonosc" and not is_loopback(live.host):
        # AbletonOSC answers to the host it is asked from, so its replies come from afar.
        banner.warn(
            f"the Ableton Live reader listens on 0.0.0.0:{live.listen_port} for replies from "
            f"{live.host}: any machine that reaches it can send it answers"
        )
    staging = config.staging
    if staging.kind == "local" and staging.public_base_url:
        banner.warn(
            f"clips are reachable at {staging.public_base_url} by anyone holding a clip's "
            f"URL while it is staged (staging.ttl {staging.ttl:g} s)"
        )
    if not is_loopback(staging.host):
        banner.warn(
            f"the stager listens on {staging.host}: clips are reachable from "
            "other machines while staged (their URLs expire)"
        )


def default_projects(config: Config) -> tuple[Path, ...]:
    # The folders the configuration itself names for results are allowed as well.
    drop = [Path(config.drop.project).expanduser().resolve()] if config.drop.project else []
    return (config.output.folder(), *drop)


def preview_roots(config: Config) -> list[Path]:
    # What requests may read, and where results may be written.
    return [
        *config.jobs.audio_root_paths(),
        config.drop.path(),
        *config.output.roots(),
        *default_projects(config),
    ]
