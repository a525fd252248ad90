"""The current context of a hardware controller: project, clip, selection, prompt, preset.

A pad or a fader cannot send a whole request, so `/bridge/context/...` messages and MIDI
faders set the parts one by one, and a trigger turns the context into a request in the
bridge's schema (`bridge.jobs.wire`), which then validates it like any other. No I/O here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from bridge.config import Preset
from bridge.daemon.addresses import Osc
from bridge.errors import Issue, RequestError
from bridge.errors.describe import suggest
from bridge.jobs.model import JOB_ACTIONS
from bridge.jobs.request import ACTION_ALIASES, CREATE
from bridge.jobs.wire import REQUEST_VERSION, Params

ALIASES: Final = ACTION_ALIASES
# Parameters a context holds besides the API's own optional fields.
OWN_PARAMS: Final = ("strength", "model", "lyrics", "stems")
PARAMS: Final = (*OWN_PARAMS, *Params.model_fields)
BOOLEAN_PARAMS: Final = ("stems", "makeInstrumental")
WHOLE_PARAMS: Final = ("seed",)


def action_for(name: str) -> str | None:
    """The API action a name stands for (the action itself or its alias), if any."""
    if name in JOB_ACTIONS:
        return name
    return ALIASES.get(name)


class ContextDocument(BaseModel):
    """A controller's context as the daemon keeps it between runs (`context.json` in the
    data folder). Each value was judged when it was set; a trigger judges them again."""

    model_config = ConfigDict(extra="forbid", title="producer-bridge controller context")

    project: str | None = None
    sampleRate: int | None = None
    clip: dict[str, Any] | None = None
    selection: dict[str, float] | None = None
    preset: str | None = None
    prompt: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


@dataclass
class Context:
    project: str | None = None
    sample_rate: int | None = None
    clip: dict[str, Any] | None = None
    selection: dict[str, float] | None = None
    preset: str | None = None
    prompt: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def set_param(self, name: str, value: Any) -> None:
        if name not in PARAMS:
            close = suggest(name, PARAMS)
            hint = f" (did you mean {close!r}?)" if close else ""
            raise RequestError([Issue("param", f"unknown parameter {name!r}{hint}")])
        self.params[name] = _as_meant(name, value)

    def copy(self) -> Context:
        return dataclasses.replace(
            self,
            clip=None if self.clip is None else dict(self.clip),
            selection=None if self.selection is None else dict(self.selection),
            params=dict(self.params),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "sampleRate": self.sample_rate,
            "clip": self.clip,
            "selection": self.selection,
            "preset": self.preset,
            "prompt": self.prompt,
            "params": dict(self.params),
        }

    @classmethod
    def from_json(cls, data: object) -> Context:
        """The context `to_json` wrote; pydantic's ValidationError if it is not one."""
        document = ContextDocument.model_validate(data)
        return cls(
            project=document.project,
            sample_rate=document.sampleRate,
            clip=document.clip,
            selection=document.selection,
            preset=document.preset,
            prompt=document.prompt,
            params=dict(document.params),
        )

    def request(self, name: str, presets: Mapping[str, Preset]) -> dict[str, Any]:
        """The request a trigger of `name` (an action, its alias or a preset) stands for."""
        name = name.strip() or (self.preset or "")
        if not name:
            raise RequestError(
                [
                    Issue(
                        "trigger",
                        "name an action or a preset, or set one with /bridge/context/preset",
                    )
                ]
            )
        preset = presets.get(name)
        action = preset.action if preset is not None else action_for(name)
        if action is None:
            raise RequestError([Issue("trigger", _unknown(name, presets))])
        request: dict[str, Any] = {"version": REQUEST_VERSION, "action": action}
        _merge_preset(request, preset)
        self._merge_own(request)
        return request

    def _merge_own(self, request: dict[str, Any]) -> None:
        own = {k: v for k, v in self.params.items() if k in Params.model_fields}
        if own:
            request["params"] = {**request.get("params", {}), **own}
        for key in ("model", "lyrics"):
            if key in self.params:
                request[key] = self.params[key]
        if "stems" in self.params:
            request["options"] = {"stems": self.params["stems"]}
        text = self.prompt if self.prompt is not None else _preset_text(request)
        strength = self.params.get("strength", _preset_strength(request))
        if text is not None:
            prompt: dict[str, Any] = {"text": text}
            if strength is not None:
                prompt["strength"] = strength
            request["prompts"] = [prompt]
        if self.project:
            request["project"] = {"folder": self.project, "sampleRate": self.sample_rate}
        if self.clip and request["action"] != CREATE:
            request["clip"] = dict(self.clip)
        if self.selection:
            request["selection"] = dict(self.selection)


def _as_meant(name: str, value: Any) -> Any:
    """A controller's number as the parameter means it: a toggle's 0 or 1 (REAPER's
    settings and pads send them, TouchOSC sends 0.0 and 1.0) is false or true, and a whole
    number sent as a float is that whole number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if name in BOOLEAN_PARAMS and value in (0, 1):
        return bool(value)
    if name in WHOLE_PARAMS and float(value).is_integer():
        return int(value)
    return value


def _merge_preset(request: dict[str, Any], preset: Preset | None) -> None:
    if preset is None:
        return
    if preset.model:
        request["model"] = preset.model
    if preset.lyrics:
        request["lyrics"] = preset.lyrics
    if preset.params:
        request["params"] = dict(preset.params)
    if preset.stems is not None:
        request["options"] = {"stems": preset.stems}
    if preset.prompt or preset.strength is not None:
        prompt: dict[str, Any] = {"text": preset.prompt}
        if preset.strength is not None:
            prompt["strength"] = preset.strength
        request["prompts"] = [prompt]


def _preset_text(request: dict[str, Any]) -> str | None:
    prompts = request.get("prompts") or [{}]
    text = prompts[0].get("text")
    return text if isinstance(text, str) else None


def _preset_strength(request: dict[str, Any]) -> Any:
    prompts = request.get("prompts") or [{}]
    return prompts[0].get("strength")


def _unknown(name: str, presets: Mapping[str, Preset]) -> str:
    names = [*JOB_ACTIONS, *ALIASES, *presets]
    close = suggest(name, names)
    hint = f" (did you mean {close!r}?)" if close else ""
    listed = ", ".join([*ALIASES, *presets]) if presets else ", ".join(ALIASES)
    return f"unknown action or preset {name!r}{hint}; use an action name, or one of: {listed}"


def set_preset(context: Context, name: str) -> None:
    context.preset = name


def context_change(what: str, args: dict[str, Any]) -> tuple[str, Callable[[Context], None]]:
    """The part of the context a message sets, and how."""

    def project(context: Context) -> None:
        context.project, context.sample_rate = args["folder"], args.get("sampleRate")

    def clip(context: Context) -> None:
        context.clip = dict(args)

    def selection(context: Context) -> None:
        if not args["start"] < args["end"]:
            raise RequestError([Issue("selection", "start must come before end")])
        context.selection = {"start": args["start"], "end": args["end"]}

    def prompt(context: Context) -> None:
        context.prompt = args["text"]
        if "strength" in args:
            context.set_param("strength", args["strength"])

    def param(context: Context) -> None:
        context.set_param(args["name"], args["value"])

    if what is Osc.CONTEXT_PARAM:
        return f"param:{args['name']}", param
    if what is Osc.CONTEXT_PROMPT:
        return "prompt", prompt
    if what is Osc.CONTEXT_PROJECT:
        return "project", project
    return ("clip", clip) if what is Osc.CONTEXT_CLIP else ("selection", selection)
