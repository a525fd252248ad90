"""Finding, reading and validating the configuration file, with the environment's overrides.

Lookup order: ``--config`` path, else ``$PRODUCER_BRIDGE_CONFIG``, else the user's
``bridge.toml`` (platformdirs) if it exists, else built-in defaults. ``$PRODUCER_API_KEY`` and
``$PRODUCER_API_URL`` (and ``$PRODUCER_API_PROVIDER``, ``$PRODUCER_USAGE_URL``) then
override the file, and so do one provider's own (``$PRODUCER_API_KEY_ACEDATA``...: its
``[api.providers.<name>]`` table). Every problem is reported in one ``ConfigError``
so the user fixes them all in one pass.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import ValidationError

from bridge.config.settings import Config
from bridge.errors import ConfigError, Issue, register_secret
from bridge.errors.describe import describe_errors, suggest
from bridge.jobs.request import ACTION_ALIASES

ENV_CONFIG = "PRODUCER_BRIDGE_CONFIG"
ENV_API_KEY = "PRODUCER_API_KEY"
ENV_API_URL = "PRODUCER_API_URL"
ENV_API_PROVIDER = "PRODUCER_API_PROVIDER"
ENV_USAGE_URL = "PRODUCER_USAGE_URL"


def provider_env(var: str, provider: str) -> str:
    """The environment variable of one provider's own setting: PRODUCER_API_KEY_ACEDATA."""
    return f"{var}_{provider.upper()}"


# dotted field -> the environment variable that may override it
_ENV_FIELDS = {
    "api.key": ENV_API_KEY,
    "api.url": ENV_API_URL,
    "api.provider": ENV_API_PROVIDER,
    "api.usage_url": ENV_USAGE_URL,
    # each provider's own table
    "api.providers.mountsea.key": provider_env(ENV_API_KEY, "mountsea"),
    "api.providers.mountsea.url": provider_env(ENV_API_URL, "mountsea"),
    "api.providers.mountsea.usage_url": provider_env(ENV_USAGE_URL, "mountsea"),
    "api.providers.acedata.key": provider_env(ENV_API_KEY, "acedata"),
    "api.providers.acedata.url": provider_env(ENV_API_URL, "acedata"),
}


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    source: Path | None  # None: built-in defaults, no file
    overrides: tuple[str, ...] = ()  # environment variables that overrode a value


def default_config_path() -> Path:
    return platformdirs.user_config_path("producer-bridge") / "bridge.toml"


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Find, read, override from the environment and validate the configuration.

    Raises ``ConfigError`` listing every problem found.
    """
    env = os.environ if env is None else env
    source = _find_source(path, env)
    raw = _read_toml(source) if source is not None else {}
    raw, overrides = _apply_env(raw, env)
    _register_keys(raw.get("api"))
    staging = raw.get("staging")
    s3 = staging.get("s3") if isinstance(staging, dict) else None
    if isinstance(s3, dict) and isinstance(s3.get("secret_access_key"), str):
        register_secret(s3["secret_access_key"])
    env_fields = {field: var for field, var in _ENV_FIELDS.items() if var in overrides}
    return LoadedConfig(_validate(raw, env_fields), source, overrides)


def _register_keys(api: object) -> None:
    """Every API key, the general one and each provider's own, kept out of every message."""
    if not isinstance(api, dict):
        return
    providers = api.get("providers")
    tables = providers.values() if isinstance(providers, dict) else ()
    for table in (api, *tables):
        if isinstance(table, dict) and isinstance(table.get("key"), str):
            register_secret(table["key"])


def _find_source(path: Path | None, env: Mapping[str, str]) -> Path | None:
    if path is not None:
        return _explicit(Path(path).expanduser(), "--config")
    named = env.get(ENV_CONFIG, "").strip()
    if named:
        return _explicit(Path(named).expanduser(), ENV_CONFIG)
    default = default_config_path()
    return default if default.exists() else None


def _explicit(path: Path, given_by: str) -> Path:
    if not path.exists():
        raise ConfigError([Issue(given_by, f"configuration file not found: {path}")])
    return path


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError([Issue(str(path), f"cannot read: {exc.strerror or exc}")]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError([Issue(str(path), "not UTF-8 text, as TOML requires")]) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's error has no line attribute: the position is only in the message.
        reason, _, where = str(exc).partition(" (at ")
        where = where.rstrip(")") or "unknown position"
        message = f"not valid TOML at {where}: {reason}"
        raise ConfigError([Issue(str(path), message)]) from exc


def _apply_env(
    raw: dict[str, Any], env: Mapping[str, str]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    if not isinstance(raw.get("api", {}), dict):
        return raw, ()  # validation reports that [api] is not a table
    raw = dict(raw)
    used: list[str] = []
    for field, var in _ENV_FIELDS.items():
        # Stripped: a key pasted with a trailing newline is still the same key.
        value = env.get(var, "").strip()
        if value and _set(raw, field.split("."), value):
            used.append(var)
    return raw, tuple(used)


def _set(table: dict[str, Any], path: list[str], value: str) -> bool:
    """Set a dotted field in copies of its tables; False where one is not a table (which
    validation reports)."""
    head, *rest = path
    if not rest:
        table[head] = value
        return True
    inner = table.get(head, {})
    if not isinstance(inner, dict):
        return False
    table[head] = inner = dict(inner)
    return _set(inner, rest, value)


def _validate(raw: dict[str, Any], env_fields: Mapping[str, str]) -> Config:
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        issues = describe_errors(exc, Config, env_fields)
        issues += _midi_issues(raw, None)
    else:
        issues = _midi_issues(raw, config)
        if not issues:
            return config
    # Not chained: pydantic's own text repeats raw input, which may be a misspelt key's secret.
    raise ConfigError(issues) from None


def _midi_issues(raw: dict[str, Any], config: Config | None) -> list[Issue]:
    """The MIDI map's own grammar, and (once the rest is valid) the names it triggers."""
    midi = raw.get("midi")
    table = midi.get("map") if isinstance(midi, dict) else None
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        return []  # a wrong type is pydantic's to report
    from bridge.jobs.model import JOB_ACTIONS
    from bridge.midi.mapping import parse_mapping, validate_mapping  # mido loads only here

    issues = validate_mapping(table)
    if issues or config is None:
        return issues
    known = {*JOB_ACTIONS, *ACTION_ALIASES, *config.trigger.presets}
    for name in sorted(parse_mapping(table).trigger_names() - known):
        close = suggest(name, sorted(known))
        hint = f" (did you mean {close!r}?)" if close else ""
        message = f"{name!r} is no action, alias or preset{hint}; add it to [trigger.presets]"
        issues.append(Issue("midi.map", message))
    return issues
