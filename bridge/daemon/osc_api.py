"""The daemon's OSC addresses: one table that the handlers, the argument checks and the
README's address table are all made from.

Every message gets an answer. Handlers parse, check and hand on; anything that waits (a
trigger asking Ableton Live for its loop) runs as a task and answers when it is done.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bridge import __version__
from bridge.audio.preview import PreviewDesk
from bridge.daemon.addresses import Osc
from bridge.daemon.context import ALIASES, Context, context_change, set_preset
from bridge.daemon.feedback import Origin
from bridge.daemon.intake import Intake
from bridge.daemon.osc_args import Arg, check_args, parse_signature
from bridge.daemon.refusals import ADDRESS_MAX, RefusalBudget, cut, reason_limit
from bridge.errors import AudioError, BridgeError, Issue, JobError, RequestError, explain
from bridge.errors.describe import suggest
from bridge.jobs.wire import parse_json_object
from bridge.project.playable import resolve_target

log = logging.getLogger(__name__)

__all__ = ["OUTGOING", "ROUTES", "Handlers", "Route", "address_table", "check_args"]

Spawn = Callable[[Coroutine[Any, Any, None]], None]

# Answered on the OSC socket's own thread (`Handlers.answer_here`). What they read may be
# read from another thread: the context is replaced whole, never changed in place; the
# runner's counts; the journal, through its reading connection (a job this process runs
# is answered on the loop, which knows it ahead of the journal).
DIRECT: Final = frozenset({Osc.PING, Osc.STATUS, Osc.CONTEXT_GET})

_CONVENIENCE: Final = {
    Osc.CREATE: ("create_music", ()),
    Osc.REPLACE: ("replace_music", ("replaceStart", "replaceEnd")),
    Osc.EXTEND: ("extend_music", ("continueAt", "extendDuration")),
    Osc.COVER: ("cover_music", ()),
    Osc.SWAP_SOUND: ("swap_music_sound", ()),
    Osc.SWAP_VOCALS: ("swap_music_vocals", ()),
    Osc.VARIATION: ("music_variation", ()),
}


class Handlers:
    """Turns checked OSC messages into intake calls and answers."""

    def __init__(
        self,
        intake: Intake,
        service: str,
        spawn: Spawn,
        previews: PreviewDesk | None = None,
    ) -> None:
        self._intake = intake
        self._feedback = intake.feedback
        self._service = service
        self._spawn = spawn  # starts a coroutine as a task the daemon keeps track of
        self._previews = previews
        self._refusals = RefusalBudget()

    def handle(self, address: str, values: list[Any], sender: tuple[str, int]) -> None:
        origin = Origin("osc", sender, f"{sender[0]}:{sender[1]}")
        limit = reason_limit(address, values)
        if not address:
            self._refuse(origin, "", str(values[0]) if values else "malformed packet", limit)
            return
        route = ROUTES_BY_ADDRESS.get(address)
        if route is None:
            close = suggest(address, list(ROUTES_BY_ADDRESS))
            hint = f" (did you mean {close}?)" if close else "; /bridge/ping answers"
            self._refuse(origin, address, f"unknown address{hint}", limit)
            return
        try:
            route.handler(self, route, check_args(route, values), origin)
        except Exception as exc:  # every message is answered, even one the bridge did not foresee
            if not isinstance(exc, BridgeError):
                log.exception("OSC %s from %s: handler failed", address, origin.label)
            self._refuse(origin, address, explain(exc), limit)

    def answer_here(self, address: str, values: list[Any], sender: tuple[str, int]) -> bool:
        """Answer a ping, a status or the context on the calling thread (the OSC socket's
        own), whatever the event loop is busy with; False when the message is another one,
        or needs a refusal: `handle` then answers it on the loop."""
        route = ROUTES_BY_ADDRESS.get(address)
        if route is None or route.address not in DIRECT:
            return False
        origin = Origin("osc", sender, f"{sender[0]}:{sender[1]}")
        try:
            args = check_args(route, values)
            if "job" in args and self._intake.running_here(args["job"]):
                return False  # a status the loop knows ahead of the journal
            route.handler(self, route, args, origin)
        except Exception:
            return False
        return True

    def _refuse(self, origin: Origin, address: str, reason: str, limit: int) -> None:
        """A refusal, short and bounded, unless its remote host has drawn too many."""
        if origin.reply is not None and not self._refusals.allow(origin.reply[0]):
            log.debug("OSC %s from %s refused, not answered: %s", address, origin.label, reason)
            return
        self._feedback.rejected(origin, cut(address, ADDRESS_MAX), cut(reason, limit))

    def job(self, route: Route, args: dict[str, Any], origin: Origin) -> None:
        data = parse_json_object(str(args["request"]).encode("utf-8", "surrogatepass"), "request")
        self._intake.submit(data, origin)

    def convenience(self, route: Route, args: dict[str, Any], origin: Origin) -> None:
        action, fields = _CONVENIENCE[route.address]
        context = self._intake.context
        base = Context(
            project=context.project, sample_rate=context.sample_rate, params=dict(context.params)
        )
        request = base.request(action, {})
        if "clip" in args:
            request["clip"] = {"path": args["clip"]}
        if "prompt" in args:
            prompt = {"text": args["prompt"]}
            strength = context.params.get("strength")
            request["prompts"] = [prompt if strength is None else {**prompt, "strength": strength}]
        names = ("start", "end") if action == "replace_music" else ("continueAt", "duration")
        if fields:
            request["params"] = {
                **request.get("params", {}),
                **{field: args[name] for field, name in zip(fields, names, strict=True)},
            }
        self._intake.submit(request, origin)

    def context(self, route: Route, args: dict[str, Any], origin: Origin) -> None:
        intake, what = self._intake, route.address
        if what is Osc.CONTEXT_GET:
            state = json.dumps(intake.context.to_json())
            self._feedback.answer(origin, Osc.CONTEXT_STATE, state)
            return
        if what is Osc.CONTEXT_CLEAR:
            intake.clear_context()
        elif what is Osc.CONTEXT_PRESET:
            self._known_preset(args["name"])
            intake.change_context("preset", lambda context: set_preset(context, args["name"]))
        else:
            part, change = context_change(what, args)
            intake.change_context(part, change)
        self._feedback.answer(origin, Osc.OK, route.address, _describe(args))

    def _known_preset(self, name: str) -> None:
        if name not in self._intake.presets and name not in ALIASES:
            Context().request(name, self._intake.presets)  # raises, naming what is known

    def trigger(self, route: Route, args: dict[str, Any], origin: Origin) -> None:
        name = args.get("name", "")
        self._intake.context.request(name, self._intake.presets)  # reject at once if unknown
        self._spawn(self._triggered(route, name, origin))

    async def _triggered(self, route: Route, name: str, origin: Origin) -> None:
        try:
            await self._intake.trigger(name, origin)
        except Exception as exc:
            if not isinstance(exc, BridgeError):
                log.exception("OSC %s: the trigger failed", route.address)
            self._refuse(origin, route.address, explain(exc), reason_limit(name, ()))

    def cancel(self, route: Route, args: dict[str, Any], origin: Origin) -> None:
        job = self._intake.cancel(args["job"])
        detail = f"cancel of job {job.short_id} requested"
        self._feedback.answer(origin, Osc.OK, route.address, detail)

    def status(self, route: Route, args: dict[str, Any], origin: Origin) -> None:
        if "job" not in args:
            runner = self._intake.runner
            self._feedback.answer(origin, Osc.SUMMARY, runner.queued, len(runner.running))
            return
        job = self._intake.status(args["job"])
        status = (job.id, job.status, job.step or "", job.error or "")
        self._feedback.answer(origin, Osc.JOB_STATUS, *status)

    def pong_args(self) -> tuple[str, str]:
        return (__version__, self._service)

    def ping(self, route: Route, args: dict[str, Any], origin: Origin) -> None:
        self._feedback.answer(origin, Osc.PONG, *self.pong_args())

    def capabilities(self, route: Route, args: dict[str, Any], origin: Origin) -> None:
        client = self._intake.runner.deps.client
        if client.learned is None:
            raise JobError("this bridge keeps no learned capabilities")
        summary = client.learned.summary(client.provider.name, client.base_url)
        self._feedback.answer(origin, Osc.CAPABILITIES_STATE, summary.model_dump_json())

    def _desk(self) -> PreviewDesk:
        if self._previews is None:
            raise AudioError("this daemon plays no previews")
        return self._previews

    def preview(self, route: Route, args: dict[str, Any], origin: Origin) -> None:
        start = args.get("start", 0.0)
        if start < 0:
            raise RequestError([Issue("start", f"must be 0 or more seconds (got {start:g})")])
        path = resolve_target(args["target"], self._intake.status, self._desk().roots)
        self._spawn(self._previewing(route, path, start, origin))

    async def _previewing(self, route: Route, path: Path, start: float, origin: Origin) -> None:
        # Opening a stream loads PortAudio and may wait on the sound server: not on the loop.
        try:
            await asyncio.to_thread(self._desk().play, path, start)
        except Exception as exc:
            if not isinstance(exc, BridgeError):
                log.exception("OSC %s: the preview failed", route.address)
            self._refuse(origin, route.address, explain(exc), reason_limit(str(path), ()))
            return
        self._feedback.answer(origin, Osc.OK, route.address, f"playing {path} from {start:g} s")

    def preview_stop(self, route: Route, args: dict[str, Any], origin: Origin) -> None:
        stopped = self._desk().stop()
        detail = f"stopped {stopped}" if stopped is not None else "nothing was playing"
        self._feedback.answer(origin, Osc.OK, route.address, detail)


def _describe(args: dict[str, Any]) -> str:
    return " ".join(f"{name}={value}" for name, value in args.items())


Handler = Callable[[Handlers, "Route", dict[str, Any], Origin], None]


@dataclass(frozen=True)
class Route:
    address: Osc
    signature: str
    answer: Osc
    meaning: str
    handler: Handler  # takes the checked arguments

    @property
    def args(self) -> tuple[Arg, ...]:
        return parse_signature(self.signature)


ROUTES: Final = (
    Route(
        Osc.JOB,
        "s:request",
        Osc.ACCEPTED,
        "a whole request as JSON (the request schema)",
        Handlers.job,
    ),
    Route(
        Osc.CREATE, "s:prompt", Osc.ACCEPTED, "create_music with one prompt", Handlers.convenience
    ),
    Route(
        Osc.REPLACE,
        "s:clip f:start f:end s:prompt",
        Osc.ACCEPTED,
        "replace_music: the section start..end (s, in the clip)",
        Handlers.convenience,
    ),
    Route(
        Osc.EXTEND,
        "s:clip f:continueAt f:duration s:prompt",
        Osc.ACCEPTED,
        "extend_music from continueAt (s, in the clip) for duration s",
        Handlers.convenience,
    ),
    Route(Osc.COVER, "s:clip s:prompt", Osc.ACCEPTED, "cover_music", Handlers.convenience),
    Route(
        Osc.SWAP_SOUND, "s:clip s:prompt", Osc.ACCEPTED, "swap_music_sound", Handlers.convenience
    ),
    Route(
        Osc.SWAP_VOCALS, "s:clip s:prompt", Osc.ACCEPTED, "swap_music_vocals", Handlers.convenience
    ),
    Route(
        Osc.VARIATION, "s:clip [s:prompt]", Osc.ACCEPTED, "music_variation", Handlers.convenience
    ),
    Route(
        Osc.CONTEXT_PROJECT,
        "s:folder [i:sampleRate]",
        Osc.OK,
        "the project folder (absolute) and its sample rate",
        Handlers.context,
    ),
    Route(
        Osc.CONTEXT_CLIP,
        "s:path [f:itemPosition] [f:takeOffset] [f:playrate] [f:length]",
        Osc.OK,
        "the clip: file, timeline position, offset in the file, playrate, length",
        Handlers.context,
    ),
    Route(
        Osc.CONTEXT_SELECTION, "f:start f:end", Osc.OK, "the time selection (s)", Handlers.context
    ),
    Route(Osc.CONTEXT_PRESET, "s:name", Osc.OK, "the preset a bare trigger runs", Handlers.context),
    Route(
        Osc.CONTEXT_PROMPT,
        "s:text [f:strength]",
        Osc.OK,
        "the prompt (and its strength) for triggers",
        Handlers.context,
    ),
    Route(
        Osc.CONTEXT_PARAM,
        "s:name *:value",
        Osc.OK,
        "strength, model, lyrics, stems, or an API field (seed, weirdness...)",
        Handlers.context,
    ),
    Route(Osc.CONTEXT_CLEAR, "", Osc.OK, "forget the whole context", Handlers.context),
    Route(Osc.CONTEXT_GET, "", Osc.CONTEXT_STATE, "the context, as JSON", Handlers.context),
    Route(
        Osc.TRIGGER,
        "[s:name]",
        Osc.ACCEPTED,
        "run an action, alias or preset with the context (none: the context's preset)",
        Handlers.trigger,
    ),
    Route(Osc.CANCEL, "s:job", Osc.OK, "stop a job (id or its first characters)", Handlers.cancel),
    Route(
        Osc.STATUS,
        "[s:job]",
        Osc.JOB_STATUS,
        f"one job's status; without an id, {Osc.SUMMARY} i:queued i:running",
        Handlers.status,
    ),
    Route(
        Osc.PREVIEW,
        "s:target [f:start]",
        Osc.OK,
        "play a file (under the allowed roots) or a job's spliced clip, else its result, on "
        "this machine's output from start s; stops the preview before it",
        Handlers.preview,
    ),
    Route(Osc.PREVIEW_STOP, "", Osc.OK, "stop the preview that plays", Handlers.preview_stop),
    Route(Osc.PING, "", Osc.PONG, "answers s:version s:service", Handlers.ping),
    Route(
        Osc.CAPABILITIES,
        "",
        Osc.CAPABILITIES_STATE,
        "what the service was seen to offer and refuse, per model and action (learned, "
        "never asked)",
        Handlers.capabilities,
    ),
)
ROUTES_BY_ADDRESS: Final[dict[str, Route]] = {route.address: route for route in ROUTES}

# What the daemon sends, for the README.
OUTGOING: Final = (
    (Osc.ACCEPTED, "s:job s:action", "a job was journaled and queued"),
    (Osc.REJECTED, "s:address s:reason", "a message was refused; the reason names the field"),
    (Osc.OK, "s:address s:detail", "a context change, cancel or preview was done"),
    (Osc.PROGRESS, "s:job s:step f:fraction", "how far a job is, 0..1, at most 4 times a second"),
    (
        Osc.WAITING,
        "s:job s:step f:seconds s:reason",
        "a job waits before repeating a request (e.g. the service answered 429)",
    ),
    (
        Osc.DONE,
        "s:job s:manifest f:credits [s:placed s:message]",
        "a job's files are in the project; the manifest's path; its cost in credits (an "
        "empty string when the provider cannot tell); for a job Live started, where its "
        "results went in Live (`arrangement` or `folder`) and why",
    ),
    (Osc.FAILED, "s:job s:status s:message", "a job failed, was cancelled, or needs attention"),
    (Osc.JOB_STATUS, "s:job s:status s:step s:message", "the answer to /bridge/status JOB"),
    (Osc.SUMMARY, "i:queued i:running", "the answer to /bridge/status"),
    (Osc.CONTEXT_STATE, "s:json", "the answer to /bridge/context/get"),
    (Osc.PONG, "s:version s:service", "the answer to /bridge/ping"),
    (Osc.CAPABILITIES_STATE, "s:json", "the answer to /bridge/capabilities"),
)


def address_table() -> str:
    """The README's address tables, made from ROUTES and OUTGOING."""
    lines = ["| address | arguments | answer | meaning |", "|---|---|---|---|"]
    for route in ROUTES:
        signature = f"`{route.signature}`" if route.signature else ""
        lines.append(f"| `{route.address}` | {signature} | `{route.answer}` | {route.meaning} |")
    lines += ["", "| the daemon sends | arguments | when |", "|---|---|---|"]
    for address, signature, meaning in OUTGOING:
        lines.append(f"| `{address}` | `{signature}` | {meaning} |")
    return "\n".join(lines) + "\n"
