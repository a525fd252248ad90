"""An OSC message's arguments checked against a route's signature: a 32-bit float arrives
as the decimal the sender typed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bridge.daemon.osc_args import Arg, check_args, parse_signature


@dataclass(frozen=True)
class Route:
    address: str = "/bridge/context/strength"
    signature: str = "f:value"

    @property
    def args(self) -> tuple[Arg, ...]:
        return parse_signature(self.signature)


@pytest.mark.parametrize(
    ("sent", "read"),
    [(0.800000011920929, 0.8), (0.10000000149011612, 0.1), (120.0, 120.0), (-0.0, -0.0)],
)
def test_a_float32_reads_as_the_decimal_the_sender_typed(sent: float, read: float) -> None:
    assert repr(check_args(Route(), [sent])["value"]) == repr(read)


@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
@example(2.0**-96)  # powers of two, where the shortest decimal is not the nearest one
@example(2.0**87)
@example(float(np.float32(3.4028235e38)))
def test_every_float32_reads_as_numpy_prints_it(value: float) -> None:
    assert check_args(Route(), [value])["value"] == float(str(np.float32(value)))


def test_a_64_bit_number_is_left_as_it_came() -> None:
    assert check_args(Route(), [0.8])["value"] == 0.8
    assert check_args(Route(), [0.1 + 0.2])["value"] == 0.1 + 0.2
