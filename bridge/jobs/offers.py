"""What a provider's contracts can express, and which models speak which contract.

Pure data and checks, judged at intake before anything is staged or paid. A provider
adapter in `bridge.api` owns the wire; this module only says what its contracts can carry,
so that a request the chosen contract could not send is refused naming what to change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from bridge.errors import Issue
from bridge.jobs.model import STEMS_ONLY
from bridge.jobs.request import ACTIONS, CREATE, AudioRequest

# The models table (PRODUCER_API.md), one tuple per contract that speaks them.
FUZZ_MODELS: Final = (
    "FUZZ-2.0 Pro",
    "FUZZ-2.0",
    "FUZZ-2.0 Raw",
    "FUZZ-1.1 Pro",
    "FUZZ-1.1",
    "FUZZ-1.0 Pro",
    "FUZZ-1.0",
    "FUZZ-0.8",
)
LYRIA_MODELS: Final = ("Lyria 3 Pro",)


@dataclass(frozen=True)
class ContractShape:
    """What one wire contract carries: its actions, its optional fields (the seed's names),
    and how style prompts travel (a list with strengths and time ranges, or one text)."""

    name: str
    actions: tuple[str, ...]
    fields: frozenset[str]
    prompt_list: bool = True  # False: one prompt text, no time range
    needs_text: bool = False  # a create must give a prompt or lyrics
    # With one prompt text: the range its strength travels in (None: it is not sent).
    prompt_strength: tuple[float, float] | None = None
    # Fields whose range is narrower than the core's: (low, high) by seed-contract name.
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def offers(self, action: str) -> bool:
        # stems_only generates nothing: upload and stems are the same in every contract.
        return action == STEMS_ONLY or action in self.actions


_ALL_FIELDS: Final = frozenset(
    {
        "audioId",
        "lyrics",
        "title",
        "lyricsStrength",
        "weirdness",
        "seed",
        "makeInstrumental",
        "continueAt",
        "extendDuration",
        "replaceStart",
        "replaceEnd",
        "coverStrength",
        "coverArtUrl",
    }
)
FUZZ: Final = ContractShape("mountsea-fuzz", ACTIONS, _ALL_FIELDS)
LYRIA: Final = ContractShape(
    "mountsea-lyria",
    (CREATE,),
    frozenset({"lyrics", "title", "seed", "makeInstrumental"}),
    prompt_list=False,
    needs_text=True,
)


# AceData Cloud (PRODUCER_API.md, section 3; its `producer/docs/producer_audios.md`): every
# action under its own name, one `prompt` text with a `sound_strength` of 0.2..1, a
# `cover_strength` of 0.2..1, no seed and no cover art. An extension's length has no field
# there: `extendDuration` stays with the bridge, which fits the result to it as always.
ACEDATA_SHAPE: Final = ContractShape(
    "acedata",
    ACTIONS,
    _ALL_FIELDS - {"seed", "coverArtUrl"},
    prompt_list=False,
    needs_text=True,
    prompt_strength=(0.2, 1.0),
    bounds={"coverStrength": (0.2, 1.0)},
)


@dataclass(frozen=True)
class ProviderOffer:
    """A provider as intake sees it: its name, and the contract each model speaks (models
    it does not list speak `default`, the contract of models added in configuration)."""

    name: str
    models: Mapping[str, ContractShape]
    default: ContractShape

    def shape_for(self, model: str) -> ContractShape:
        return self.models.get(model, self.default)

    def models_of(self, shape: ContractShape) -> tuple[str, ...]:
        return tuple(model for model, found in self.models.items() if found == shape)


MOUNTSEA: Final = ProviderOffer(
    "mountsea",
    {**dict.fromkeys(FUZZ_MODELS, FUZZ), **dict.fromkeys(LYRIA_MODELS, LYRIA)},
    FUZZ,
)
ACEDATA: Final = ProviderOffer("acedata", dict.fromkeys(FUZZ_MODELS, ACEDATA_SHAPE), ACEDATA_SHAPE)
OFFERS: Final = {MOUNTSEA.name: MOUNTSEA, ACEDATA.name: ACEDATA}


def expression_issues(audio: AudioRequest, offer: ProviderOffer) -> list[Issue]:
    """What in `audio` the contract of its model cannot carry, each naming what to change."""
    shape = offer.shape_for(audio.model)
    if not shape.offers(audio.action):
        what = f"{audio.action} is"
        return [Issue("action", _other_model(audio, offer, shape, what, leave_out=False))]
    if audio.action == STEMS_ONLY:
        return []
    found = [
        Issue(name, _other_model(audio, offer, shape, f"{name} is"))
        for name, value in audio.api_fields()
        if value is not None and name not in shape.fields and name != "audioId"
    ]
    if not shape.prompt_list:
        found += _single_prompt_issues(audio, offer, shape)
    found += _bound_issues(audio, shape)
    if shape.needs_text and audio.action == CREATE and not audio.sounds and not audio.lyrics:
        found.append(Issue("prompts", f"{audio.model} needs a prompt or lyrics (or both)"))
    return found


def _single_prompt_issues(
    audio: AudioRequest, offer: ProviderOffer, shape: ContractShape
) -> list[Issue]:
    found: list[Issue] = []
    if len(audio.sounds) > 1:
        found.append(Issue("prompts", _other_model(audio, offer, shape, "more than one prompt is")))
    for index, sound in enumerate(audio.sounds):
        where = f"prompts[{index}]"
        if sound.strength < 0:
            what = "a negative prompt (strength below 0) is"
            found.append(Issue(f"{where}.strength", _other_model(audio, offer, shape, what)))
        elif (span := shape.prompt_strength) and not _within(sound.strength, span):
            what = f"{shape.name} takes a strength from {span[0]:g} to {span[1]:g}"
            found.append(Issue(f"{where}.strength", f"{what} (got {sound.strength:g})"))
        if sound.time_start is not None or sound.time_end is not None:
            what = "a time-ranged prompt is"
            found.append(Issue(f"{where}.timeStart", _other_model(audio, offer, shape, what)))
    return found


def _bound_issues(audio: AudioRequest, shape: ContractShape) -> list[Issue]:
    found = []
    for name, value in audio.api_fields():
        bounds = shape.bounds.get(name)
        if bounds is not None and value is not None and not _within(value, bounds):
            what = f"{shape.name} takes {name} from {bounds[0]:g} to {bounds[1]:g}"
            found.append(Issue(name, f"{what} (got {value:g})"))
    return found


def _within(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


def _other_model(
    audio: AudioRequest,
    offer: ProviderOffer,
    shape: ContractShape,
    what: str,
    *,
    leave_out: bool = True,
) -> str:
    others = [
        model
        for model, other in offer.models.items()
        if other != shape and other.offers(audio.action)
    ]
    fix = f"use a model such as {others[0]!r}" if others else "use another provider"
    return (
        f"{what} not part of what {audio.model!r} speaks ({shape.name}: "
        f"{', '.join(shape.actions)}); {fix}{', or leave it out' if leave_out else ''}"
    )
