"""The configuration's building blocks: constrained field types, the strict base of every
section, and the checks of URLs, peer addresses and cross-field rules."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

# inf and nan are valid TOML floats but never a sensible timeout or share.
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
SecondsOrZero = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Port = Annotated[int, Field(ge=0, le=65535)]
Text = Annotated[str, Field(min_length=1)]
# numpy's generators refuse negative seeds, and the emulator may use them.
Seed = Annotated[int, Field(ge=0)]


class Section(BaseModel):
    # strict: TOML is typed, so `port = "8790"` or `stems = 1` is a slip worth reporting
    # rather than a value to coerce.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def cross_field(field: str, message: str) -> PydanticCustomError:
    """An error from a model validator, pinned to one field of that model (see ``_issue``)."""
    return PydanticCustomError("cross_field", message, {"field": field})


def http_url(value: str, *, allow_empty: bool = False) -> str:
    if allow_empty and value == "":
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"\s", value):
        raise PydanticCustomError("http_url", "must start with http:// or https:// and name a host")
    # One spelling, so that other modules can append paths without doubling the slash.
    return value.rstrip("/")


def endpoint(value: str, *, allow_empty: bool = True) -> str:
    """A "host:port" peer address (IPv6 in brackets)."""
    if allow_empty and value == "":
        return value
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) <= 65535:
        raise PydanticCustomError("endpoint", 'must be "host:port", e.g. "127.0.0.1:9000"')
    return value


def split_endpoint(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)
