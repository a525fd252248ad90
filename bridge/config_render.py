"""The configuration's words: TOML for `config show` and a summary for `config check`.
(What a validation error says is `bridge.errors.describe`'s, shared with requests.)

Kept apart from ``bridge.config`` so that module stays about the schema and loading. Nothing
here imports ``bridge.config`` at run time (it re-exports ``render_toml`` and ``check_report``),
so every walk takes the model it goes over.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, SecretStr

if TYPE_CHECKING:
    from bridge.config import LoadedConfig

MASK = "********"

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def render_toml(loaded: LoadedConfig) -> str:
    """The effective configuration as TOML, the API key masked."""
    lines = [f"# producer-bridge configuration, from {_origin(loaded)}"]
    if loaded.overrides:
        lines.append(f"# overridden by environment: {', '.join(loaded.overrides)}")
    _render_model(loaded.config, [], lines)
    return "\n".join(lines) + "\n"


def check_report(loaded: LoadedConfig) -> str:
    """A short human summary of what the bridge will use."""
    config = loaded.config
    key_set = bool(config.api.key.get_secret_value())
    rows = [
        ("source", _origin(loaded)),
        ("API URL", config.api.url),
        ("API key", "set" if key_set else "not set: the built-in emulator will be used"),
        *_other_providers(loaded),
        ("default model", config.models.default),
        ("staging", _staging_text(loaded)),
    ]
    if loaded.overrides:
        rows.insert(1, ("overridden by", ", ".join(loaded.overrides)))
    width = max(len(label) for label, _ in rows) + 1
    body = [f"  {label + ':':<{width}} {value}" for label, value in rows]
    return "\n".join(["configuration is valid", *body]) + "\n"


def _other_providers(loaded: LoadedConfig) -> list[tuple[str, str]]:
    """Where the journaled jobs of each provider but api.provider go, and whether they can."""
    api = loaded.config.api
    rows = []
    for name in type(api.providers).model_fields:
        if name == api.provider:
            continue
        connection = api.connection(name)
        key = (
            "key set" if connection.key.get_secret_value() else f"no key (api.providers.{name}.key)"
        )
        rows.append(("other provider", f"{name} at {connection.url}, {key}"))
    return rows


def _origin(loaded: LoadedConfig) -> str:
    if loaded.source is None:
        return "built-in defaults (no configuration file)"
    # A newline in a path would end the TOML comment early.
    return re.sub(r"[\x00-\x1f\x7f]", "?", str(loaded.source))


def _staging_text(loaded: LoadedConfig) -> str:
    staging = loaded.config.staging
    if staging.kind == "s3":
        s3 = staging.s3
        where = s3.endpoint_url or "AWS"
        return f"S3 bucket {s3.bucket} at {where}, presigned URLs valid {s3.expires} s"
    host = f"[{staging.host}]" if ":" in staging.host else staging.host
    text = f"{host}, any free port" if staging.port == 0 else f"{host}:{staging.port}"
    if staging.public_base_url:
        text += f", reached by the service at {staging.public_base_url}"
    return text


def _render_model(model: BaseModel, path: list[str], lines: list[str]) -> None:
    values = {name: getattr(model, name) for name in type(model).model_fields}
    tables: list[tuple[list[str], BaseModel]] = []
    scalars: dict[str, object] = {}
    for name, value in values.items():
        if isinstance(value, BaseModel):
            tables.append(([name], value))
        elif _is_model_map(value):
            # A table of named tables ([trigger.presets.disco]); empty, it is written inline.
            tables.extend(([name, key], item) for key, item in value.items())
        elif value is not None:  # TOML has no null: an unset optional key is left out
            scalars[name] = value
    if path and (scalars or not tables):
        lines.extend(["", "[" + ".".join(_key(part) for part in path) + "]"])
    lines.extend(f"{_key(name)} = {_value(value)}" for name, value in scalars.items())
    for parts, table in tables:
        _render_model(table, [*path, *parts], lines)


def _is_model_map(value: object) -> bool:
    return (
        isinstance(value, dict)
        and bool(value)
        and all(isinstance(item, BaseModel) for item in value.values())
    )


def _key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else _string(name)


def _value(value: object) -> str:
    if isinstance(value, SecretStr):
        return _string(MASK) if value.get_secret_value() else '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    # repr is the shortest text that reads back to the same float, and is valid TOML
    # ("1e-07", "3.0"); TOML needs the ".0" that repr already writes for whole numbers.
    return repr(value)


def _string(text: str) -> str:
    out: list[str] = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
