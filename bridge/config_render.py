"""The configuration's words: TOML for `config show`, a summary for `config check`, and the
translation of pydantic's validation errors into ``Issue``s that say what is allowed.

Kept apart from ``bridge.config`` so that module stays about the schema and loading. Nothing
here imports ``bridge.config`` at run time (it re-exports ``render_toml`` and ``check_report``),
so every walk takes the model it goes over.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal, get_args, get_origin

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from bridge.errors import Issue

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
        ("default model", config.models.default),
        ("staging", _staging_text(loaded)),
    ]
    if loaded.overrides:
        rows.insert(1, ("overridden by", ", ".join(loaded.overrides)))
    width = max(len(label) for label, _ in rows) + 1
    body = [f"  {label + ':':<{width}} {value}" for label, value in rows]
    return "\n".join(["configuration is valid", *body]) + "\n"


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


# ---------------------------------------------------------------- pydantic error -> Issue

_TYPE_MESSAGES = {
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string in quotes",
    "string_too_short": "must not be empty",
    "list_type": 'must be a list of strings, e.g. ["a", "b"]',
    "model_type": "must be a table (a [section])",
    "dict_type": "must be a table (a [section])",
}
_RANGE_TYPES = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def describe_errors(
    exc: ValidationError, root: type[BaseModel], rename: Mapping[str, str]
) -> list[Issue]:
    """One ``Issue`` per pydantic error, at the dotted field (``api.read_timeout``,
    ``models.extra[2]``), saying what is allowed. ``rename`` maps a dotted field to the name
    the user knows it by (an environment variable that set it).

    An error raised with a ``field`` in its context (a model validator's cross-field rule)
    is placed on that field of the model rather than on the model.
    """
    issues = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        field = (error.get("ctx") or {}).get("field")
        if isinstance(field, str):
            loc = (*loc, field)
        dotted = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
        dotted = dotted.lstrip(".")
        issues.append(Issue(rename.get(dotted, dotted), _message(root, error, loc)))
    return issues


def suggest(name: str, options: Sequence[str]) -> str | None:
    """The option closest to ``name`` (ignoring case), if any is close enough."""
    by_fold = {option.casefold(): option for option in options}
    close = difflib.get_close_matches(name.casefold(), list(by_fold), n=1, cutoff=0.6)
    return by_fold[close[0]] if close else None


def _message(root: type[BaseModel], error: ErrorDetails, loc: tuple[str | int, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key(root, loc, error["input"])
    if kind == "cross_field":
        return error["msg"]
    info = _field_info(root, loc)
    if kind in _RANGE_TYPES:
        base = _range_text(info) or error["msg"]
    elif kind == "literal_error":
        base = "must be one of " + ", ".join(_choices(info))
    else:
        base = _TYPE_MESSAGES.get(kind, error["msg"])
    if info is not None and info.annotation is SecretStr:
        return base  # never echo what was typed where a secret belongs
    return f"{base} (got {_show(error['input'])})"


def _unknown_key(root: type[BaseModel], loc: tuple[str | int, ...], value: object) -> str:
    name = str(loc[-1])
    parent = _model_at(root, loc[:-1])
    options = list(parent.model_fields) if parent is not None else []
    what = "section" if isinstance(value, dict) else "key"
    close = suggest(name, options)
    if close is not None:
        return f"unknown {what} (did you mean {close!r}?)"
    if parent is root and not isinstance(value, dict):
        homes = [f"[{s}]" for s, info in root.model_fields.items() if name in _fields(info)]
        if homes:
            return f"unknown key at the top level (it belongs under {' or '.join(homes)})"
    label = "sections" if parent is root else "keys"
    return f"unknown {what}; valid {label} here: {', '.join(options)}"


def _fields(info: FieldInfo) -> dict[str, FieldInfo]:
    ann = info.annotation
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann.model_fields
    return {}


def _model_at(root: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    model = root
    for part in loc:
        info = model.model_fields.get(part) if isinstance(part, str) else None
        ann = info.annotation if info is not None else None
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return None
        model = ann
    return model


def _field_info(root: type[BaseModel], loc: tuple[str | int, ...]) -> FieldInfo | None:
    strings = tuple(part for part in loc if isinstance(part, str))
    model = _model_at(root, strings[:-1])
    return model.model_fields.get(strings[-1]) if model is not None and strings else None


def _range_text(info: FieldInfo | None) -> str | None:
    bounds: dict[str, float] = {}
    for item in info.metadata if info is not None else []:
        for name in ("gt", "ge", "lt", "le"):
            if getattr(item, name, None) is not None:
                bounds[name] = getattr(item, name)
    parts = {
        "gt": "greater than {}",
        "ge": "at least {}",
        "lt": "less than {}",
        "le": "at most {}",
    }
    if "ge" in bounds and "le" in bounds:
        return f"must be between {_num(bounds['ge'])} and {_num(bounds['le'])}"
    texts = [parts[name].format(_num(value)) for name, value in bounds.items()]
    return "must be " + " and ".join(texts) if texts else None


def _choices(info: FieldInfo | None) -> list[str]:
    stack: list[object] = [info.annotation] if info is not None else []
    while stack:
        ann = stack.pop()
        if get_origin(ann) is Literal:
            return [str(arg) for arg in get_args(ann)]
        stack.extend(get_args(ann))
    return []


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _show(value: object) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict):
        text = "a table"
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
