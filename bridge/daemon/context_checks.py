"""A controller's context is judged when a value is set, by the rules a request obeys.

A context change is turned into the request a trigger would send (with the action the
value belongs to) and judged by `parse_request`; only what concerns the part just set is
kept, so a context that is not yet complete (no clip yet, say) is not held against it.
The world (does the folder exist, does the clip decode) is asked by the intake.
"""

from __future__ import annotations

from typing import Final

from bridge.daemon.context import Context
from bridge.errors import Issue, RequestError
from bridge.jobs.request import CREATE
from bridge.jobs.wire import Defaults, parse_request

# The action a part is judged with: its owner for an action's own field, one that takes a
# clip for the clip, and otherwise create_music, whose rules are the widest.
_JUDGED_WITH: Final = {
    "clip": "cover_music",
    "param:continueAt": "extend_music",
    "param:extendDuration": "extend_music",
    "param:replaceStart": "replace_music",
    "param:replaceEnd": "replace_music",
    "param:coverStrength": "cover_music",
    "param:coverArtUrl": "cover_music",
}
# The request fields a part of the context becomes.
_FIELDS: Final = {
    "project": ("project", "sampleRate"),
    "clip": ("clip",),
    "selection": ("selection",),
    "prompt": ("prompts", "sounds"),
    "param:strength": ("prompts[0].strength", "sounds[0].strength"),
    "param:model": ("model",),
    "param:lyrics": ("lyrics",),
    "param:stems": ("options.stems",),
}


def part_issues(context: Context, part: str, defaults: Defaults) -> list[Issue]:
    """What the request rules say of `part` ("project", "clip", "selection", "prompt" or
    "param:NAME") of `context`."""
    judged = context.copy()
    if judged.prompt is None:  # a strength is judged on a prompt, the one it will go with
        judged.prompt = "a prompt"
    data = judged.request(_JUDGED_WITH.get(part, CREATE), {})
    try:
        parse_request(data, defaults)
    except RequestError as exc:
        fields = _FIELDS.get(part) or _param_fields(part)
        return [issue for issue in exc.issues if _concerns(issue.field, fields)]
    return []


def _param_fields(part: str) -> tuple[str, ...]:
    name = part.removeprefix("param:")
    return (f"params.{name}", name)


def _concerns(field: str, fields: tuple[str, ...]) -> bool:
    return any(field == f or field.startswith((f"{f}.", f"{f}[")) for f in fields)
