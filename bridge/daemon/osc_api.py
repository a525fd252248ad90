"""The daemon's OSC addresses: one table that the handlers, the argument checks and the
README's address table are all made from.

Every message gets an answer. Handlers parse, check and hand on; anything that waits (a
trigger asking Ableton Live for its loop) runs as a task and answers when it is done.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from bridge import __version__
from bridge.audio.preview import PreviewDesk
from bridge.daemon.context import ALIASES, Context
from bridge.daemon.feedback import (
    ACCEPTED,
    DONE,
    FAILED,
    OK,
    PROGRESS,
    REJECTED,
    STATUS,
    Origin,
)
from bridge.daemon.intake import Intake
from bridge.errors import AudioError, BridgeError, Issue, RequestError

log = logging.getLogger(__name__)

PONG: Final = "/bridge/pong"
CONTEXT_STATE: Final = "/bridge/context/state"
SUMMARY: Final = "/bridge/status/summary"

# OSC type letters as the table writes them: s string, f number, i whole number,
# b true/false, * any of them.
_KINDS: Final = {"s": "string", "f": "number", "i": "whole number", "b": "true or false", "*": ""}


@dataclass(frozen=True)
class Arg:
    kind: str
    name: str
    optional: bool


def parse_signature(text: str) -> tuple[Arg, ...]:
    """ "s:clip f:start [f:end]" -> Args; optional ones must come last."""
    args: list[Arg] = []
    for token in text.split():
        optional = token.startswith("[") and token.endswith("]")
        kind, _, name = token.strip("[]").partition(":")
        if kind not in _KINDS or not name or (args and args[-1].optional and not optional):
            raise ValueError(f"bad signature token {token!r} in {text!r}")
        args.append(Arg(kind, name, optional))
    return tuple(args)


@dataclass(frozen=True)
class Route:
    address: str
    signature: str
    answer: str
    meaning: str
    handler: str  # the Handlers method that takes it

    @property
    def args(self) -> tuple[Arg, ...]:
        return parse_signature(self.signature)


ROUTES: Final = (
    Route(
        "/bridge/job", "s:request", ACCEPTED, "a whole request as JSON (the request schema)", "job"
    ),
    Route("/bridge/create", "s:prompt", ACCEPTED, "create_music with one prompt", "convenience"),
    Route(
        "/bridge/replace",
        "s:clip f:start f:end s:prompt",
        ACCEPTED,
        "replace_music: the section start..end (s, in the clip)",
        "convenience",
    ),
    Route(
        "/bridge/extend",
        "s:clip f:continueAt f:duration s:prompt",
        ACCEPTED,
        "extend_music from continueAt (s, in the clip) for duration s",
        "convenience",
    ),
    Route("/bridge/cover", "s:clip s:prompt", ACCEPTED, "cover_music", "convenience"),
    Route("/bridge/swap_sound", "s:clip s:prompt", ACCEPTED, "swap_music_sound", "convenience"),
    Route("/bridge/swap_vocals", "s:clip s:prompt", ACCEPTED, "swap_music_vocals", "convenience"),
    Route("/bridge/variation", "s:clip [s:prompt]", ACCEPTED, "music_variation", "convenience"),
    Route(
        "/bridge/context/project",
        "s:folder [i:sampleRate]",
        OK,
        "the project folder (absolute) and its sample rate",
        "context",
    ),
    Route(
        "/bridge/context/clip",
        "s:path [f:itemPosition] [f:takeOffset] [f:playrate] [f:length]",
        OK,
        "the clip: file, timeline position, offset in the file, playrate, length",
        "context",
    ),
    Route("/bridge/context/selection", "f:start f:end", OK, "the time selection (s)", "context"),
    Route("/bridge/context/preset", "s:name", OK, "the preset a bare trigger runs", "context"),
    Route(
        "/bridge/context/prompt",
        "s:text [f:strength]",
        OK,
        "the prompt (and its strength) for triggers",
        "context",
    ),
    Route(
        "/bridge/context/param",
        "s:name *:value",
        OK,
        "strength, model, lyrics, stems, or an API field (seed, weirdness...)",
        "context",
    ),
    Route("/bridge/context/clear", "", OK, "forget the whole context", "context"),
    Route("/bridge/context/get", "", CONTEXT_STATE, "the context, as JSON", "context"),
    Route(
        "/bridge/trigger",
        "[s:name]",
        ACCEPTED,
        "run an action, alias or preset with the context (none: the context's preset)",
        "trigger",
    ),
    Route("/bridge/cancel", "s:job", OK, "stop a job (id or its first characters)", "cancel"),
    Route(
        "/bridge/status",
        "[s:job]",
        STATUS,
        f"one job's status; without an id, {SUMMARY} i:queued i:running",
        "status",
    ),
    Route(
        "/bridge/preview",
        "s:target [f:start]",
        OK,
        "play a file (under the allowed roots) or a job's spliced clip, else its result, on "
        "this machine's output from start s; stops the preview before it",
        "preview",
    ),
    Route("/bridge/preview/stop", "", OK, "stop the preview that plays", "preview_stop"),
    Route("/bridge/ping", "", PONG, "answers s:version s:service", "ping"),
)
ROUTES_BY_ADDRESS: Final = {route.address: route for route in ROUTES}

# What the daemon sends, for the README.
OUTGOING: Final = (
    (ACCEPTED, "s:job s:action", "a job was journaled and queued"),
    (REJECTED, "s:address s:reason", "a message was refused; the reason names the field"),
    (OK, "s:address s:detail", "a context change, cancel or preview was done"),
    (PROGRESS, "s:job s:step f:fraction", "how far a job is, 0..1, at most 4 times a second"),
    (DONE, "s:job s:manifest", "a job's files are in the project; the manifest's path"),
    (FAILED, "s:job s:status s:message", "a job failed, was cancelled, or needs attention"),
    (STATUS, "s:job s:status s:step s:message", "the answer to /bridge/status JOB"),
    (SUMMARY, "i:queued i:running", "the answer to /bridge/status"),
    (CONTEXT_STATE, "s:json", "the answer to /bridge/context/get"),
    (PONG, "s:version s:service", "the answer to /bridge/ping"),
)

_CONVENIENCE: Final = {
    "/bridge/create": ("create_music", ()),
    "/bridge/replace": ("replace_music", ("replaceStart", "replaceEnd")),
    "/bridge/extend": ("extend_music", ("continueAt", "extendDuration")),
    "/bridge/cover": ("cover_music", ()),
    "/bridge/swap_sound": ("swap_music_sound", ()),
    "/bridge/swap_vocals": ("swap_music_vocals", ()),
    "/bridge/variation": ("music_variation", ()),
}


def check_args(route: Route, values: Sequence[Any]) -> dict[str, Any]:
    """The arguments by name, or RequestError naming each one that is wrong."""
    args = route.args
    needed = sum(not arg.optional for arg in args)
    if not needed <= len(values) <= len(args):
        count = str(needed) if needed == len(args) else f"{needed} to {len(args)}"
        expected = route.signature or "no arguments"
        raise RequestError(
            [Issue(route.address, f"takes {count} argument(s): {expected} (got {len(values)})")]
        )
    found: dict[str, Any] = {}
    problems = []
    for arg, value in zip(args, values, strict=False):
        checked = _check(arg.kind, value)
        if checked is _WRONG:
            problems.append(Issue(arg.name, f"must be a {_KINDS[arg.kind]} (got {value!r:.40})"))
        else:
            found[arg.name] = checked
    if problems:
        raise RequestError(problems)
    return found


_WRONG: Final = object()


def _decimal(value: float) -> float:
    """OSC's f is 32-bit: 0.8 arrives as 0.800000011920929. Take the shortest decimal that
    is the same 32-bit number, as the sender typed it. (A 64-bit d is left alone.)"""
    single = np.float32(value)
    return float(str(single)) if float(single) == value else value


def _check(kind: str, value: Any) -> Any:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "s":
        return value if isinstance(value, str) else _WRONG
    if kind == "f":
        # Controllers often send whole numbers where a number is meant.
        return _decimal(float(value)) if number and math.isfinite(value) else _WRONG
    if kind == "i":
        return int(value) if number and math.isfinite(value) and value == int(value) else _WRONG
    if kind == "b":
        if isinstance(value, bool) or value in (0, 1):
            return bool(value)
        return _WRONG
    return value if value is not None else _WRONG


class Handlers:
    """Turns checked OSC messages into intake calls and answers."""

    def __init__(
        self,
        intake: Intake,
        service: str,
        spawn: Callable[..., Any],
        previews: PreviewDesk | None = None,
    ) -> None:
        self._intake = intake
        self._feedback = intake.feedback
        self._service = service
        self._spawn = spawn  # starts a coroutine as a task the daemon keeps track of
        self._previews = previews

    def handle(self, address: str, values: list[Any], sender: tuple[str, int]) -> None:
        origin = Origin("osc", sender, f"{sender[0]}:{sender[1]}")
        if not address:
            self._feedback.rejected(origin, "", str(values[0]) if values else "malformed packet")
            return
        route = ROUTES_BY_ADDRESS.get(address)
        if route is None:
            known = ", ".join(sorted(ROUTES_BY_ADDRESS))
            self._feedback.rejected(origin, address, f"unknown address; known: {known}")
            return
        try:
            args = check_args(route, values)
            getattr(self, "_" + route.handler)(route, args, origin)
        except RequestError as exc:
            self._feedback.rejected(origin, address, exc.details())
        except BridgeError as exc:
            self._feedback.rejected(origin, address, exc.message)

    def _job(self, route: Route, args: dict[str, Any], origin: Origin) -> None:
        try:
            data = json.loads(args["request"])
        except json.JSONDecodeError as exc:
            raise RequestError(
                [Issue("request", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")]
            ) from None
        self._intake.submit(data, origin)

    def _convenience(self, route: Route, args: dict[str, Any], origin: Origin) -> None:
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

    def _context(self, route: Route, args: dict[str, Any], origin: Origin) -> None:
        context = self._intake.context
        what = route.address.rsplit("/", 1)[1]
        if what == "get":
            self._feedback.answer(origin, CONTEXT_STATE, json.dumps(context.to_json()))
            return
        if what == "project":
            context.project, context.sample_rate = args["folder"], args.get("sampleRate")
        elif what == "clip":
            context.clip = {k: v for k, v in args.items()}
        elif what == "selection":
            if not args["start"] < args["end"]:
                raise RequestError([Issue("selection", "start must come before end")])
            context.selection = {"start": args["start"], "end": args["end"]}
        elif what == "preset":
            self._known_preset(args["name"])
            context.preset = args["name"]
        elif what == "prompt":
            context.prompt = args["text"]
            if "strength" in args:
                context.set_param("strength", args["strength"])
        elif what == "param":
            context.set_param(args["name"], args["value"])
        elif what == "clear":
            self._intake.context = Context()
        self._feedback.answer(origin, OK, route.address, _describe(args))

    def _known_preset(self, name: str) -> None:
        if name not in self._intake.presets and name not in ALIASES:
            Context().request(name, self._intake.presets)  # raises, naming what is known

    def _trigger(self, route: Route, args: dict[str, Any], origin: Origin) -> None:
        name = args.get("name", "")
        self._intake.context.request(name, self._intake.presets)  # reject at once if unknown
        self._spawn(self._triggered(route, name, origin))

    async def _triggered(self, route: Route, name: str, origin: Origin) -> None:
        try:
            await self._intake.trigger(name, origin)
        except RequestError as exc:
            self._feedback.rejected(origin, route.address, exc.details())
        except BridgeError as exc:
            self._feedback.rejected(origin, route.address, exc.message)

    def _cancel(self, route: Route, args: dict[str, Any], origin: Origin) -> None:
        job = self._intake.cancel(args["job"])
        self._feedback.answer(origin, OK, route.address, f"cancel of job {job.short_id} requested")

    def _status(self, route: Route, args: dict[str, Any], origin: Origin) -> None:
        if "job" not in args:
            runner = self._intake.runner
            self._feedback.answer(origin, SUMMARY, runner.queued, len(runner.running))
            return
        job = self._intake.status(args["job"])
        self._feedback.answer(origin, STATUS, job.id, job.status, job.step or "", job.error or "")

    def _ping(self, route: Route, args: dict[str, Any], origin: Origin) -> None:
        self._feedback.answer(origin, PONG, __version__, self._service)

    def _desk(self) -> PreviewDesk:
        if self._previews is None:
            raise AudioError("this daemon plays no previews")
        return self._previews

    def _preview(self, route: Route, args: dict[str, Any], origin: Origin) -> None:
        start = args.get("start", 0.0)
        if start < 0:
            raise RequestError([Issue("start", f"must be 0 or more seconds (got {start:g})")])
        path = self._desk().resolve(args["target"], self._intake.status)
        self._spawn(self._previewing(route, path, start, origin))

    async def _previewing(self, route: Route, path: Path, start: float, origin: Origin) -> None:
        # Opening a stream loads PortAudio and may wait on the sound server: not on the loop.
        try:
            await asyncio.to_thread(self._desk().play, path, start)
        except BridgeError as exc:
            self._feedback.rejected(origin, route.address, exc.message)
            return
        self._feedback.answer(origin, OK, route.address, f"playing {path} from {start:g} s")

    def _preview_stop(self, route: Route, args: dict[str, Any], origin: Origin) -> None:
        stopped = self._desk().stop()
        detail = f"stopped {stopped}" if stopped is not None else "nothing was playing"
        self._feedback.answer(origin, OK, route.address, detail)


def _describe(args: dict[str, Any]) -> str:
    return " ".join(f"{name}={value}" for name, value in args.items())


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
