"""The client's validation and the emulator's contract agree on any generated body.

Bodies start as the smallest valid body of an action (`test_contract_agreement.SMALLEST`)
and have up to five fields changed: to a good value, to one at or past a documented limit
(including NaN, Infinity and integers too long for a float), to one of a wrong JSON type,
or left out. Both sides must give the same verdict and, on a refusal, name the same fields.
"""

from __future__ import annotations

import math
from typing import Any, Final

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from tests.test_contract_agreement import DROP, MODEL, SMALLEST, body, client_says, emulator_says

JUNK: Final = st.one_of(
    st.none(), st.booleans(), st.text(max_size=3), st.just(1), st.just([]), st.just({})
)
EDGES: Final = st.one_of(
    st.sampled_from([-1.5, -1, -0.5, 0, 0.1, 0.2, 1, 1.2, 7.0, 2.5, -(2**70), 2**70]),
    st.sampled_from([math.nan, math.inf, -math.inf, 10**400, -(10**400), 1e300]),
)


def mostly(
    good: st.SearchStrategy[Any], odd: st.SearchStrategy[Any] = EDGES
) -> st.SearchStrategy[Any]:
    """`good` four times in five; else a value at or past a documented limit, or of a
    wrong JSON type."""
    return st.integers(0, 9).flatmap(lambda roll: JUNK if roll == 0 else odd if roll == 1 else good)


def sounds() -> st.SearchStrategy[Any]:
    times = {"timeStart": mostly(st.floats(0, 40)), "timeEnd": mostly(st.floats(0, 80))}
    item = st.fixed_dictionaries(
        {
            "text": mostly(st.sampled_from(["piano", "跑调", ""]), st.just(" ")),
            "strength": mostly(st.floats(-1, 1)),
        },
        optional={**times, "weight": JUNK},
    )
    return mostly(st.lists(mostly(item, JUNK), max_size=5), JUNK)


VALUES: Final[dict[str, st.SearchStrategy[Any]]] = {
    "action": mostly(st.sampled_from(list(SMALLEST)), st.just("remix")),
    "model": mostly(st.sampled_from([MODEL, "FUZZ-0.8"]), st.sampled_from(["FUZZ-9", ""])),
    "audioId": mostly(st.just("a2"), st.just("")),
    "sounds": sounds(),
    "lyrics": mostly(st.text(max_size=5)),
    "title": mostly(st.sampled_from(["", "t" * 80, "夏天"]), st.sampled_from(["t" * 81])),
    "makeInstrumental": mostly(st.booleans()),
    "coverArtUrl": mostly(
        st.sampled_from(["http://a", "https://x.org/a.png", "HTTP://b/c.png"]),
        st.sampled_from(["ftp://x", "http://"]),
    ),
    "soundPrompt": JUNK,
    "lyricsStrength": mostly(st.floats(0, 1)),
    "weirdness": mostly(st.floats(0, 1)),
    "coverStrength": mostly(st.floats(0, 1)),
    "seed": mostly(st.integers(0, 2**40) | st.integers(0, 99).map(float)),
    "continueAt": mostly(st.floats(0, 200)),
    "extendDuration": mostly(st.floats(0.5, 60)),
    "replaceStart": mostly(st.floats(0, 100)),
    "replaceEnd": mostly(st.floats(0, 200)),
}


def mostly_set(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`value` five times in six; else DROP, which leaves the field out."""
    return st.integers(0, 5).flatmap(lambda roll: st.just(DROP) if roll == 0 else value)


CHANGES: Final = st.sampled_from(list(VALUES)).flatmap(
    lambda name: st.tuples(st.just(name), mostly_set(VALUES[name]))
)


def bodies() -> st.SearchStrategy[dict[str, Any]]:
    """The smallest valid body of an action with up to five fields set (to a good value, one
    at or past a documented limit, or one of a wrong JSON type) or left out."""
    return st.sampled_from(list(SMALLEST)).flatmap(
        lambda action: st.lists(CHANGES, max_size=5).map(
            lambda changes: body(action, **dict(changes))
        )
    )


@settings(max_examples=600, deadline=None)
@given(bodies())
def test_any_body_gets_the_same_verdict_from_both_naming_the_same_fields(
    given: dict[str, Any],
) -> None:
    assert client_says(given) == emulator_says(given)


@pytest.mark.parametrize("action", SMALLEST)
def test_the_generated_bodies_include_accepted_ones_beyond_the_smallest(action: str) -> None:
    """The property above would prove little if only the smallest bodies were accepted."""
    found = find(
        bodies(),
        lambda given: (
            given.get("action") == action
            and len(given) >= len(body(action)) + 2
            and emulator_says(given) is None
        ),
        settings=settings(
            max_examples=2000, database=None, phases=[Phase.generate], derandomize=True
        ),
    )
    assert client_says(found) is None
