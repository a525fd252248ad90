"""What the commands share of the command line: the configuration it names, and argument
types that each refuse a bad value in argparse's words."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from bridge.config import Config, load_config


def load_settings(args: argparse.Namespace) -> Config:
    """The configuration the command line names (`--config`), validated whole."""
    return load_config(args.config).config


def seconds_arg(*, zero: bool) -> Callable[[str], float]:
    """A number of seconds, finite and above 0 (or 0 too, with `zero`)."""
    wanted = "seconds, 0 or more" if zero else "seconds above 0"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and (value >= 0 if zero else value > 0)):
            raise argparse.ArgumentTypeError(f"expected {wanted} (got {text!r})")
        return value

    return parse
