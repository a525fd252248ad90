"""The client's validation and the emulator's own contract judge every body the same way.

The two are written apart (the emulator imports nothing of the client), each from
PRODUCER_API.md and the service's introduction. Here they meet: a body one accepts the
other accepts, and a body one refuses the other refuses, naming the same fields. Where
they disagreed, the documentation decided which side was wrong; the tests named
`test_doc_...` pin those rules down and say which side was fixed.
"""

from __future__ import annotations

import math
from typing import Any, Final

import pytest

from bridge.api.contract import DOWNLOAD_FORMATS
from bridge.config import ModelSettings
from bridge.emulator import contract, lyria
from bridge.errors import RequestError
from bridge.jobs.offers import FUZZ, MOUNTSEA
from bridge.jobs.request import AudioRequest
from bridge.jobs.rules import check_choice, validate_audio

MODEL: Final = "FUZZ-2.0 Pro"
# The models of the seed's contract: "Lyria 3 Pro" speaks another (tests/test_providers.py).
MODELS: Final = MOUNTSEA.models_of(FUZZ)
DROP: Final = object()  # a field to leave out of the body
# The smallest body of each action that the documentation allows.
SMALLEST: Final[dict[str, dict[str, Any]]] = {
    "create_music": {"sounds": [{"text": "warm synths", "strength": 0.5}]},
    "extend_music": {"audioId": "a1", "continueAt": 10, "extendDuration": 30},
    "replace_music": {"audioId": "a1", "replaceStart": 15, "replaceEnd": 28},
    "cover_music": {"audioId": "a1", "coverStrength": 0.5},
    "swap_music_sound": {"audioId": "a1", "sounds": [{"text": "disco", "strength": 0.9}]},
    "swap_music_vocals": {"audioId": "a1", "sounds": [{"text": "baritone", "strength": 1}]},
    "music_variation": {"audioId": "a1", "sounds": [{"text": "", "strength": 0.5}]},
}
EDITS: Final = [action for action in SMALLEST if action != "create_music"]


def body(of: str, **fields: Any) -> dict[str, Any]:
    """The smallest body of action `of`, with `fields` changed (DROP leaves one out)."""
    merged = {"action": of, "model": MODEL, **SMALLEST[of], **fields}
    return {name: value for name, value in merged.items() if value is not DROP}


def sound(text: str = "piano", strength: float = 0.5, **times: Any) -> dict[str, Any]:
    return {"text": text, "strength": strength, **times}


def client_says(given: Any) -> frozenset[str] | None:
    """None if the client accepts the body, else the fields it names."""
    try:
        validate_audio(AudioRequest.from_json(given), MODELS)
    except RequestError as exc:
        return frozenset(exc.fields)
    return None


def emulator_says(given: Any) -> frozenset[str] | None:
    """None if the emulator's contract accepts the body, else the fields it names."""
    try:
        contract.audios(given, contract.known_models())
    except RequestError as exc:
        return frozenset(exc.fields)
    return None


LYRICS = "【主歌 A】\n窗外的雨轻轻落下\n\n【副歌】\n时光里的我们"
VALID: Final[dict[str, dict[str, Any]]] = {
    **{f"smallest {action}": body(action) for action in SMALLEST},
    "intro example create_music": body(
        "create_music",
        title="夏天",
        seed=349732,
        lyrics=LYRICS,
        lyricsStrength=0.5,
        weirdness=0.5,
        makeInstrumental=False,
        sounds=[sound("pop", 0.5), sound("吐字模糊", -0.5), sound("卡断", -0.5, timeStart=0)],
    ),
    "intro example extend_music": body("extend_music", title="", seed=349732, continueAt=212),
    "intro example cover_music": body(
        "cover_music", coverArtUrl="https://dkkj.s3.ap-east-1.amazonaws.com/tmp/123.png"
    ),
    "create: strength from -1 to 1": body(
        "create_music", sounds=[sound(strength=-1), sound(strength=1)]
    ),
    "create: at most 4 sounds": body("create_music", sounds=[sound()] * 4),
    "create: a time range": body("create_music", sounds=[sound(timeStart=5, timeEnd=12)]),
    "create: no sounds at all": body("create_music", sounds=DROP),
    "edits: strength from 0.2": body("swap_music_sound", sounds=[sound(strength=0.2)]),
    "title of 80 characters": body("create_music", title="夏" * 80),
    "0..1 fields at their ends": body("create_music", lyricsStrength=0, weirdness=1),
    "extend from the very start": body("extend_music", continueAt=0),
    "cover strength 0": body("cover_music", coverStrength=0),
    "seed 7.0 is the JSON number 7": body("create_music", seed=7.0),
    "null is a field left out": body("extend_music", title=None, coverStrength=None),
    "an unnamed field is ignored": body("create_music", soundPrompt="lo-fi", imageUrl=3),
}


def case(name: str, given: Any, *fields: str) -> Any:
    return pytest.param(given, frozenset(fields), id=name)


INVALID: Final = [
    case("action is one of seven", body("create_music", action="remix"), "action"),
    case("action and model are required", {"sounds": []}, "action", "model"),
    case("the body is an object", ["create_music"], ""),
    case("models: the documented table", body("create_music", model="FUZZ-9.9"), "model"),
    case("models: Lyria has its own contract", body("create_music", model="Lyria 3 Pro"), "model"),
    case("create_music: no audio", body("create_music", audioId="a1"), "audioId"),
    *[case(f"{action} needs audioId", body(action, audioId=DROP), "audioId") for action in EDITS],
    case("an empty audioId is none", body("cover_music", audioId=""), "audioId"),
    case("extend needs continueAt", body("extend_music", continueAt=DROP), "continueAt"),
    case("extendDuration > 0", body("extend_music", extendDuration=0), "extendDuration"),
    case("continueAt >= 0", body("extend_music", continueAt=-1), "continueAt"),
    case(
        "replace needs its section",
        body("replace_music", replaceStart=DROP, replaceEnd=DROP),
        "replaceStart",
        "replaceEnd",
    ),
    case("replaceEnd after replaceStart", body("replace_music", replaceEnd=15), "replaceEnd"),
    case("replaceStart >= 0", body("replace_music", replaceStart=-1), "replaceStart"),
    case("coverStrength 0..1", body("cover_music", coverStrength=1.5), "coverStrength"),
    case("coverArtUrl is http(s)", body("cover_music", coverArtUrl="ftp://x/a.png"), "coverArtUrl"),
    case("coverArtUrl has a host", body("cover_music", coverArtUrl="http://"), "coverArtUrl"),
    case("continueAt is extend's own", body("cover_music", continueAt=3), "continueAt"),
    case("coverStrength is cover's own", body("create_music", coverStrength=0.5), "coverStrength"),
    case("replaceEnd is replace's own", body("extend_music", replaceEnd=4), "replaceEnd"),
    case("create: at most 4 sounds", body("create_music", sounds=[sound()] * 5), "sounds"),
    case("edits: at most 1 sound", body("cover_music", sounds=[sound()] * 2), "sounds"),
    case(
        "create: strength down to -1",
        body("create_music", sounds=[sound(strength=-1.5)]),
        "sounds[0].strength",
    ),
    *[
        case(
            f"edits: strength 0.2..1, not {strength}",
            body("swap_music_vocals", sounds=[sound(strength=strength)]),
            "sounds[0].strength",
        )
        for strength in (0.1, 1.1, -0.5)
    ],
    case(
        "create: timeStart >= 0",
        body("create_music", sounds=[sound(timeStart=-2)]),
        "sounds[0].timeStart",
    ),
    case(
        "create: timeEnd after timeStart",
        body("create_music", sounds=[sound(), sound(timeStart=20, timeEnd=10)]),
        "sounds[1].timeEnd",
    ),
    case(
        "create: timeEnd after 0",
        body("create_music", sounds=[sound(timeEnd=0)]),
        "sounds[0].timeEnd",
    ),
    case(
        "edits: no time range",
        body("replace_music", sounds=[sound(timeStart=0)]),
        "sounds[0].timeStart",
    ),
    case(
        "edits: no time range, timeEnd alone",
        body("music_variation", sounds=[sound("", timeEnd=8)]),
        "sounds[0].timeEnd",
    ),
    case("JSON has no Infinity", body("extend_music", extendDuration=math.inf), "extendDuration"),
    case("JSON has no NaN", body("create_music", weirdness=math.nan), "weirdness"),
    case("a number fits a float", body("create_music", lyricsStrength=10**400), "lyricsStrength"),
    case("only variation: empty text", body("cover_music", sounds=[sound("")]), "sounds[0].text"),
    case("white space is empty", body("create_music", sounds=[sound("  ")]), "sounds[0].text"),
    case("title at most 80 characters", body("create_music", title="夏" * 81), "title"),
    case("lyricsStrength 0..1", body("create_music", lyricsStrength=1.2), "lyricsStrength"),
    case("weirdness 0..1", body("create_music", weirdness=-0.1), "weirdness"),
    case("seed >= 0", body("create_music", seed=-1), "seed"),
    case("seed is whole", body("create_music", seed=1.5), "seed"),
    case("seed is a number", body("create_music", seed="7"), "seed"),
    case("true is no number", body("create_music", weirdness=True), "weirdness"),
    case(
        "makeInstrumental is a boolean",
        body("create_music", makeInstrumental=1),
        "makeInstrumental",
    ),
    case("title is a string", body("create_music", title=5), "title"),
    case("sounds is a list", body("create_music", sounds={"text": "x"}), "sounds"),
    case("a sound is an object", body("create_music", sounds=["piano"]), "sounds[0]"),
    case("a sound has a text", body("create_music", sounds=[{"strength": 1}]), "sounds[0].text"),
    case(
        "strength is a number",
        body("create_music", sounds=[sound(strength="high")]),
        "sounds[0].strength",
    ),
    case(
        "every problem at once",
        {**body("replace_music", model="nope", title="t" * 81, weirdness=2.0)}
        | {
            "audioId": None,
            "replaceStart": None,
            "replaceEnd": None,
            "sounds": [sound(strength=3)],
        },
        *("model", "audioId", "replaceStart", "replaceEnd", "sounds[0].strength"),
        *("title", "weirdness"),
    ),
]


@pytest.mark.parametrize("given", VALID.values(), ids=VALID.keys())
def test_both_accept_a_body_the_documentation_allows(given: dict[str, Any]) -> None:
    assert client_says(given) is None
    assert emulator_says(given) is None


@pytest.mark.parametrize(("given", "fields"), INVALID)
def test_both_refuse_a_body_the_documentation_forbids_naming_the_same_fields(
    given: Any, fields: frozenset[str]
) -> None:
    assert client_says(given) == fields
    assert emulator_says(given) == fields


# --- where the two disagreed --------------------------------------------------------------


@pytest.mark.parametrize(
    ("times", "fields"),
    [
        ({"timeEnd": 10}, {"sounds[0].timeEnd"}),
        ({"timeStart": 0, "timeEnd": 10}, {"sounds[0].timeStart", "sounds[0].timeEnd"}),
    ],
)
@pytest.mark.parametrize("action", EDITS)
def test_doc_no_time_range_but_on_create_names_each_time_the_body_carries(
    action: str, times: dict[str, float], fields: set[str]
) -> None:
    """PRODUCER_API.md: "every other action: at most 1 item, strength from 0.2 to 1, no time
    range"; the introduction: "timeEnd ... (create only)". The client named
    sounds[0].timeStart even when the body carried only a timeEnd: the client was wrong
    (it pointed at a field that is not there) and now names each time it was sent."""
    given = body(action, sounds=[sound(**times)])
    assert client_says(given) == emulator_says(given) == fields


@pytest.mark.parametrize("url", ["http://a", "HTTPS://cdn.example/art.png", "http://a/b.png"])
def test_doc_cover_art_url_is_any_http_url_with_a_host(url: str) -> None:
    """PRODUCER_API.md: "`cover_music` ... `coverArtUrl` (optional)", the introduction: "Optional
    cover art image URL". The client refused http://a (it counted characters, not a host)
    and HTTPS:// (schemes are case-insensitive): the client was wrong."""
    given = body("cover_music", coverArtUrl=url)
    assert client_says(given) is None
    assert emulator_says(given) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("extendDuration", math.inf),
        ("continueAt", math.inf),
        ("weirdness", math.nan),
        ("weirdness", 10**400),
    ],
    ids=["extendDuration-Infinity", "continueAt-Infinity", "weirdness-NaN", "weirdness-1e400"],
)
def test_doc_bodies_are_json_which_has_no_nan_or_infinity(field: str, value: float) -> None:
    """PRODUCER_API.md: request bodies are JSON ("JSON, NOT multipart"), and JSON numbers are
    finite. The client read Infinity as a valid extendDuration or continueAt (a body no JSON
    encoder sends: httpx refuses it) and crashed with OverflowError on an integer too long
    for a float: the client was wrong, and now refuses them at their field."""
    given = body("extend_music", **{field: value})
    assert client_says(given) == emulator_says(given) == {field}


@pytest.mark.parametrize("seed", [10**400, 2**64, 1e300], ids=["10**400", "2**64", "1e300"])
def test_doc_seed_is_a_number_however_large(seed: float) -> None:
    """PRODUCER_API.md: "`seed` (number)", with no upper limit. The client crashed with
    OverflowError on a whole seed too long for a float; the client was wrong. (The
    emulator's DSP takes seeds below 2**64 and fails the task, not the request, above.)"""
    given = body("create_music", seed=seed)
    assert client_says(given) is None
    assert emulator_says(given) is None


# --- the tables both sides keep -----------------------------------------------------------


@pytest.mark.parametrize("extra", [(), ("Lyria 3 Pro",), ("FUZZ-2.0", "House Model")])
def test_doc_models_are_one_table_of_eight_that_configuration_extends(
    extra: tuple[str, ...],
) -> None:
    """PRODUCER_API.md: "Models: `FUZZ-2.0 Pro`, ... `FUZZ-0.8`" and "keep the model list in
    one table that configuration can extend"; "Lyria 3 Pro" is in the table too, and speaks
    the 2.0.0 contract (the emulator's lyria twin), not the seed's."""
    known = ModelSettings(extra=list(extra)).known()
    seed_contract = [m for m in known if m not in lyria.MODELS or m in extra]
    assert tuple(seed_contract) == contract.known_models(extra)
    assert len(contract.known_models()) == 8
    assert set(known) - set(seed_contract) <= set(lyria.MODELS)


@pytest.mark.parametrize("fmt", ["mp3", "m4a", "wav", "flac", "WAV", ""])
def test_doc_download_formats_are_mp3_m4a_wav(fmt: str) -> None:
    """PRODUCER_API.md: `POST /producer/download` `{"audioId", "format": "mp3" | "m4a" | "wav"}`."""
    assert choice_verdict("format", fmt, DOWNLOAD_FORMATS) == emulator_choice(
        contract.download, "format", fmt
    )


def choice_verdict(name: str, value: str, allowed: tuple[str, ...]) -> frozenset[str] | None:
    try:
        check_choice(name, value, allowed)
    except RequestError as exc:
        return frozenset(exc.fields)
    return None


def emulator_choice(read: Any, name: str, value: str) -> frozenset[str] | None:
    try:
        read({"audioId": "a1", name: value})
    except RequestError as exc:
        return frozenset(exc.fields)
    return None
