"""The bridge's configuration: one TOML file, two environment variables, validated as a whole.

Lookup order: ``--config`` path, else ``$PRODUCER_BRIDGE_CONFIG``, else the user's
``bridge.toml`` (platformdirs) if it exists, else built-in defaults. ``$PRODUCER_API_KEY`` and
``$PRODUCER_API_URL`` then override the file. Every problem is reported in one ``ConfigError``
so the user fixes them all in one pass.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args
from urllib.parse import urlsplit

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bridge.config_render import check_report, render_toml
from bridge.errors import ConfigError, Issue, register_secret
from bridge.errors.describe import describe_errors, suggest
from bridge.jobs.request import ACTION_ALIASES, ACTIONS

__all__ = [
    "BUILTIN_MODELS",
    "DEFAULT_API_URL",
    "ENV_API_KEY",
    "ENV_API_URL",
    "ENV_CONFIG",
    "FAULT_ENDPOINTS",
    "AbletonSettings",
    "ApiSettings",
    "Config",
    "DropSettings",
    "EmulatorSettings",
    "FaultEndpoint",
    "FaultSettings",
    "JobsSettings",
    "LoadedConfig",
    "MidiSettings",
    "ModelSettings",
    "OscSettings",
    "OutputFormat",
    "OutputSettings",
    "PollingSettings",
    "Preset",
    "ReaperSettings",
    "S3Settings",
    "StagingSettings",
    "TriggerSettings",
    "check_report",
    "default_config_path",
    "load_config",
    "render_toml",
    "split_endpoint",
]

DEFAULT_API_URL = "https://api.mountsea.ai"
ENV_CONFIG = "PRODUCER_BRIDGE_CONFIG"
ENV_API_KEY = "PRODUCER_API_KEY"
ENV_API_URL = "PRODUCER_API_URL"
# dotted field -> the environment variable that may override it
_ENV_FIELDS = {"api.key": ENV_API_KEY, "api.url": ENV_API_URL}

BUILTIN_MODELS: tuple[str, ...] = (
    "FUZZ-2.0 Pro",
    "FUZZ-2.0",
    "FUZZ-2.0 Raw",
    "FUZZ-1.1 Pro",
    "FUZZ-1.1",
    "FUZZ-1.0 Pro",
    "FUZZ-1.0",
    "FUZZ-0.8",
)

# m4a is not offered: the bridge decodes what it fetches, and libsndfile reads no m4a.
OutputFormat = Literal["wav", "mp3"]
SampleFormat = Literal["PCM_16", "PCM_24", "FLOAT"]
FaultEndpoint = Literal["audios", "tasks", "upload", "stems", "download", "download-video", "files"]
FAULT_ENDPOINTS: tuple[str, ...] = get_args(FaultEndpoint)

# inf and nan are valid TOML floats but never a sensible timeout or share.
_Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
_SecondsOrZero = Annotated[float, Field(ge=0, allow_inf_nan=False)]
_Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
_Port = Annotated[int, Field(ge=0, le=65535)]
_Text = Annotated[str, Field(min_length=1)]
# numpy's generators refuse negative seeds, and the emulator may use them.
_Seed = Annotated[int, Field(ge=0)]


class _Settings(BaseModel):
    # strict: TOML is typed, so `port = "8790"` or `stems = 1` is a slip worth reporting
    # rather than a value to coerce.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _cross_field(field: str, message: str) -> PydanticCustomError:
    """An error from a model validator, pinned to one field of that model (see ``_issue``)."""
    return PydanticCustomError("cross_field", message, {"field": field})


def _http_url(value: str, *, allow_empty: bool = False) -> str:
    if allow_empty and value == "":
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"\s", value):
        raise PydanticCustomError("http_url", "must start with http:// or https:// and name a host")
    # One spelling, so that other modules can append paths without doubling the slash.
    return value.rstrip("/")


class ApiSettings(_Settings):
    url: str = DEFAULT_API_URL
    key: SecretStr = SecretStr("")
    connect_timeout: _Seconds = 10.0
    read_timeout: _Seconds = 60.0
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 6
    retry_base: _Seconds = 0.5
    retry_cap: _Seconds = 30.0
    max_connections: Annotated[int, Field(ge=1, le=100)] = 8

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _http_url(value)

    # Model validators run only when every field of the section is valid, so cross-field
    # rules are checked (and reported with the other sections' errors) once their fields pass.
    @model_validator(mode="after")
    def _check_retry(self) -> Self:
        if self.retry_cap < self.retry_base:
            message = f"must be at least retry_base ({self.retry_base}) (got {self.retry_cap})"
            raise _cross_field("retry_cap", message)
        return self


class PollingSettings(_Settings):
    interval: _Seconds = 3.0
    max_interval: _Seconds = 15.0
    backoff: Annotated[float, Field(ge=1, allow_inf_nan=False)] = 1.5
    deadline: _Seconds = 900.0

    @model_validator(mode="after")
    def _check_interval(self) -> Self:
        if self.max_interval < self.interval:
            message = f"must be at least interval ({self.interval}) (got {self.max_interval})"
            raise _cross_field("max_interval", message)
        return self


class ModelSettings(_Settings):
    default: _Text = BUILTIN_MODELS[0]
    extra: list[_Text] = Field(default_factory=list)

    def known(self) -> tuple[str, ...]:
        """Built-in models, then the extra ones, each once."""
        return tuple(dict.fromkeys((*BUILTIN_MODELS, *self.extra)))

    @model_validator(mode="after")
    def _check_default(self) -> Self:
        known = self.known()
        if self.default not in known:
            close = suggest(self.default, known)
            hint = f" (did you mean {close!r}?)" if close else ""
            message = (
                f"unknown model {self.default!r}{hint}; known models: {', '.join(known)}"
                " (add a new one to models.extra)"
            )
            raise _cross_field("default", message)
        return self


class S3Settings(_Settings):
    bucket: str = ""
    prefix: str = "producer-bridge/"
    endpoint_url: str = ""
    region: str = ""
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    profile: str = ""
    access_key_id: str = ""
    secret_access_key: SecretStr = SecretStr("")
    expires: Annotated[int, Field(ge=1, le=604800)] = 900
    cleanup: Literal["delete", "lifecycle"] = "delete"

    @field_validator("endpoint_url")
    @classmethod
    def _check_endpoint(cls, value: str) -> str:
        return _http_url(value, allow_empty=True)

    @field_validator("prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        if value.startswith("/") or ".." in value.split("/"):
            raise PydanticCustomError("s3_prefix", "must not start with / nor hold a .. segment")
        return value


class StagingSettings(_Settings):
    kind: Literal["local", "s3"] = "local"
    host: _Text = "127.0.0.1"
    port: _Port = 0
    public_base_url: str = ""
    ttl: _Seconds = 3600.0
    upload_format: Literal["flac", "wav"] = "flac"
    s3: S3Settings = Field(default_factory=S3Settings)

    @model_validator(mode="after")
    def _check_s3(self) -> Self:
        if self.kind == "s3" and not self.s3.bucket:
            raise _cross_field("kind", 'is "s3": set staging.s3.bucket too')
        return self

    @field_validator("public_base_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _http_url(value, allow_empty=True)


class OutputSettings(_Settings):
    dir: _Text = "producer-output"
    format: OutputFormat = "wav"
    stems: bool = False
    results_folder: _Text = "ProducerBridge"
    sample_format: SampleFormat = "PCM_24"
    allowed_roots: list[_Text] = Field(default_factory=lambda: ["~"])

    @field_validator("results_folder")
    @classmethod
    def _check_folder(cls, value: str) -> str:
        if value in (".", "..") or re.search(r"[/\\\x00-\x1f]", value):
            raise PydanticCustomError("folder_name", "must be one folder name, without / or \\")
        return value

    def roots(self) -> tuple[Path, ...]:
        return tuple(Path(root).expanduser() for root in self.allowed_roots)


class AudioSettings(_Settings):
    context: Literal["clip"] | Annotated[float, Field(ge=1, allow_inf_nan=False)] = "clip"
    splice: bool = True
    crossfade: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.02
    match_loudness: bool = False

    @field_validator("context", mode="before")
    @classmethod
    def _check_context(cls, value: object) -> object:
        # One clear message rather than one per member of the union.
        if value == "clip":
            return value
        if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value < math.inf:
            return value
        raise PydanticCustomError("audio_context", 'must be "clip" or seconds, at least 1')

    def context_seconds(self) -> float | None:
        """Seconds of the clip to upload around a section; None for as much as fits."""
        return None if self.context == "clip" else float(self.context)


class JobsSettings(_Settings):
    journal: str = ""
    max_running: Annotated[int, Field(ge=1, le=16)] = 2
    audio_roots: list[_Text] = Field(default_factory=lambda: ["~"])

    def audio_root_paths(self) -> tuple[Path, ...]:
        return tuple(Path(root).expanduser() for root in self.audio_roots)

    def journal_path(self) -> Path:
        if self.journal:
            return Path(self.journal).expanduser()
        return platformdirs.user_data_path("producer-bridge") / "journal.sqlite3"


def _endpoint(value: str, *, allow_empty: bool = True) -> str:
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


class OscSettings(_Settings):
    host: _Text = "127.0.0.1"
    port: _Port = 9110
    allow_remote: bool = False
    reply_to: str = ""

    @field_validator("reply_to")
    @classmethod
    def _check_reply_to(cls, value: str) -> str:
        return _endpoint(value)


class ReaperSettings(_Settings):
    osc: str = ""
    import_action: str = ""

    @field_validator("osc")
    @classmethod
    def _check_osc(cls, value: str) -> str:
        return _endpoint(value)

    @field_validator("import_action")
    @classmethod
    def _check_action(cls, value: str) -> str:
        if value and not re.fullmatch(r"_?[A-Za-z0-9_]+", value):
            raise PydanticCustomError(
                "command_id", 'must be a REAPER command id, e.g. "_RS7f3a..." or "40001"'
            )
        return value


class MidiSettings(_Settings):
    inputs: list[_Text] = Field(default_factory=list)
    map: dict[str, str] = Field(default_factory=dict)


class DropSettings(_Settings):
    enabled: bool = True
    folder: str = ""
    project: str = ""
    settle: _Seconds = 1.0

    def path(self) -> Path:
        if self.folder:
            return Path(self.folder).expanduser()
        return platformdirs.user_data_path("producer-bridge") / "drop"


class AbletonSettings(_Settings):
    enabled: bool = False
    host: _Text = "127.0.0.1"
    port: _Port = 11000
    listen_port: _Port = 11001
    timeout: _Seconds = 1.0


PresetValue = str | int | float | bool


class Preset(_Settings):
    action: Literal[ACTIONS]  # type: ignore[valid-type]
    prompt: str = ""
    strength: Annotated[float, Field(ge=-1, le=1, allow_inf_nan=False)] | None = None
    model: str = ""
    lyrics: str = ""
    stems: bool | None = None
    params: dict[str, PresetValue] = Field(default_factory=dict)


class TriggerSettings(_Settings):
    presets: dict[str, Preset] = Field(default_factory=dict)


class FaultSettings(_Settings):
    latency: _SecondsOrZero = 0.0
    rate_429: _Share = 0.0
    retry_after: _SecondsOrZero = 1.0
    rate_5xx: _Share = 0.0
    rate_drop: _Share = 0.0
    rate_truncate: _Share = 0.0
    rate_task_failed: _Share = 0.0
    rate_task_timeout: _Share = 0.0
    endpoints: list[FaultEndpoint] = Field(default_factory=list)
    seed: _Seed = 0


class EmulatorSettings(_Settings):
    host: _Text = "127.0.0.1"
    port: _Port = 8790
    token: _Text = "emulator-token"  # noqa: S105 - the emulator's public test token
    task_seconds: _SecondsOrZero = 2.0
    sample_rate: Annotated[int, Field(ge=8000, le=192000)] = 44100
    create_seconds: _Seconds = 30.0
    seed: _Seed = 0
    faults: FaultSettings = Field(default_factory=FaultSettings)


class Config(_Settings):
    api: ApiSettings = Field(default_factory=ApiSettings)
    polling: PollingSettings = Field(default_factory=PollingSettings)
    models: ModelSettings = Field(default_factory=ModelSettings)
    staging: StagingSettings = Field(default_factory=StagingSettings)
    output: OutputSettings = Field(default_factory=OutputSettings)
    audio: AudioSettings = Field(default_factory=AudioSettings)
    jobs: JobsSettings = Field(default_factory=JobsSettings)
    osc: OscSettings = Field(default_factory=OscSettings)
    reaper: ReaperSettings = Field(default_factory=ReaperSettings)
    midi: MidiSettings = Field(default_factory=MidiSettings)
    drop: DropSettings = Field(default_factory=DropSettings)
    ableton: AbletonSettings = Field(default_factory=AbletonSettings)
    trigger: TriggerSettings = Field(default_factory=TriggerSettings)
    emulator: EmulatorSettings = Field(default_factory=EmulatorSettings)


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
    api = raw.get("api")
    if isinstance(api, dict) and isinstance(api.get("key"), str):
        register_secret(api["key"])
    staging = raw.get("staging")
    s3 = staging.get("s3") if isinstance(staging, dict) else None
    if isinstance(s3, dict) and isinstance(s3.get("secret_access_key"), str):
        register_secret(s3["secret_access_key"])
    env_fields = {field: var for field, var in _ENV_FIELDS.items() if var in overrides}
    return LoadedConfig(_validate(raw, env_fields), source, overrides)


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
    api = raw.get("api", {})
    if not isinstance(api, dict):
        return raw, ()  # validation reports that [api] is not a table
    api = dict(api)
    used: list[str] = []
    for field, var in _ENV_FIELDS.items():
        # Stripped: a key pasted with a trailing newline is still the same key.
        value = env.get(var, "").strip()
        if value:
            api[field.removeprefix("api.")] = value
            used.append(var)
    return ({**raw, "api": api} if used else raw), tuple(used)


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
    from bridge.jobs.model import JOB_ACTIONS
    from bridge.midi.mapping import parse_mapping, validate_mapping  # mido loads only here

    midi = raw.get("midi")
    table = midi.get("map") if isinstance(midi, dict) else None
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        return []  # a wrong type is pydantic's to report
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
