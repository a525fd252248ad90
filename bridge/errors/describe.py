"""From pydantic's validation errors to ``Issue``s a person can act on: the dotted field,
what is allowed, and a "did you mean" for a misspelt name.

The configuration and the job request both speak through here, so a bad value reads the
same whichever document it was in.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Literal, get_args, get_origin

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from bridge.errors import Issue

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
    "string_pattern_mismatch": "does not have the allowed form",
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
    if kind == "missing":
        return "is required"
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
    model = _model_in(info.annotation)
    return model.model_fields if model is not None else {}


def _model_in(ann: object) -> type[BaseModel] | None:
    """The model a field holds: itself, or inside `X | None`, `list[X]`, `dict[str, X]`."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    models = {model for arg in get_args(ann) if (model := _model_in(arg)) is not None}
    return models.pop() if len(models) == 1 else None


def _model_at(root: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    model = root
    for part in loc:
        info = model.model_fields.get(part) if isinstance(part, str) else None
        inner = _model_in(info.annotation) if info is not None else None
        if inner is None:
            return None
        model = inner
    return model


def _field_info(root: type[BaseModel], loc: tuple[str | int, ...]) -> FieldInfo | None:
    strings = tuple(part for part in loc if isinstance(part, str))
    model = _model_at(root, strings[:-1])
    return model.model_fields.get(strings[-1]) if model is not None and strings else None


def _constraints(info: FieldInfo | None) -> list[object]:
    """The field's own constraints, and those of an `Annotated` inside its type (a bound
    on `Annotated[int, Field(ge=0)] | None` sits on the inner type, not on the field)."""
    found: list[object] = list(info.metadata) if info is not None else []
    stack: list[object] = [info.annotation] if info is not None else []
    while stack:
        ann = stack.pop()
        for item in getattr(ann, "__metadata__", ()):
            found.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        stack.extend(get_args(ann))
    return found


def _range_text(info: FieldInfo | None) -> str | None:
    bounds: dict[str, float] = {}
    for item in _constraints(info):
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
