"""The configuration's sections, one pydantic model each, and `Config`, the whole file."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Literal, Self, get_args

import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_core import PydanticCustomError

from bridge.config.connections import (
    ACEDATA_API_URL,
    DEFAULT_API_URL,
    DEFAULT_USAGE_URL,
    PROVIDER_URLS,
    Connection,
    MountseaConnection,
    ProvidersSettings,
    own_values,
)
from bridge.config.fields import (
    Port,
    Seconds,
    SecondsOrZero,
    Section,
    Seed,
    Share,
    Text,
    cross_field,
    endpoint,
    http_url,
)
from bridge.errors.describe import suggest
from bridge.jobs.offers import FUZZ_MODELS, LYRIA_MODELS
from bridge.jobs.request import ActionName

ProviderName = Literal["mountsea", "acedata"]
# The models table lives with what each model's contract can express (jobs.offers).
BUILTIN_MODELS: tuple[str, ...] = (*FUZZ_MODELS, *LYRIA_MODELS)

# m4a is not offered: the bridge decodes what it fetches, and libsndfile reads no m4a.
OutputFormat = Literal["wav", "mp3"]
SampleFormat = Literal["PCM_16", "PCM_24", "FLOAT"]
FaultEndpoint = Literal[
    "audios", "tasks", "upload", "stems", "download", "download-video", "wav", "files"
]
FAULT_ENDPOINTS: tuple[str, ...] = get_args(FaultEndpoint)


class ApiSettings(Section):
    provider: ProviderName = "mountsea"
    # The chosen provider's: its own [api.providers.<name>] values win over these, and
    # url is acedata's own when api.provider = "acedata" and neither sets it.
    url: str = DEFAULT_API_URL
    key: SecretStr = SecretStr("")
    usage_url: str = DEFAULT_USAGE_URL
    connect_timeout: Seconds = 10.0
    read_timeout: Seconds = 60.0
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 6
    retry_base: Seconds = 0.5
    retry_cap: Seconds = 30.0
    max_connections: Annotated[int, Field(ge=1, le=100)] = 8
    providers: ProvidersSettings = Field(default_factory=ProvidersSettings)

    @field_validator("url", "usage_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return http_url(value)

    def connection(self, name: str) -> Connection:
        """Where provider `name` is reached: the chosen one at api.url with api.key (which
        its own table has set when it sets them), another at its own table's values."""
        if name == self.provider:
            return Connection(self.url, self.key, self.usage_url)
        own = getattr(self.providers, name)
        usage_url = own.usage_url if isinstance(own, MountseaConnection) else ""
        return Connection(own.url or PROVIDER_URLS[name], own.key, usage_url or DEFAULT_USAGE_URL)

    # Model validators run only when every field of the section is valid, so cross-field
    # rules are checked (and reported with the other sections' errors) once their fields pass.
    @model_validator(mode="before")
    @classmethod
    def _provider_url(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        data = {**data, **own_values(data)}
        if data.get("provider") == "acedata" and "url" not in data:
            return {**data, "url": ACEDATA_API_URL}
        return data

    @model_validator(mode="after")
    def _check_retry(self) -> Self:
        if self.retry_cap < self.retry_base:
            message = f"must be at least retry_base ({self.retry_base}) (got {self.retry_cap})"
            raise cross_field("retry_cap", message)
        return self


class BudgetSettings(Section):
    max_credits_per_day: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    max_paid_jobs_per_hour: Annotated[int, Field(ge=0)] = 0


class PollingSettings(Section):
    interval: Seconds = 3.0
    max_interval: Seconds = 15.0
    backoff: Annotated[float, Field(ge=1, allow_inf_nan=False)] = 1.5
    deadline: Seconds = 900.0

    @model_validator(mode="after")
    def _check_interval(self) -> Self:
        if self.max_interval < self.interval:
            message = f"must be at least interval ({self.interval}) (got {self.max_interval})"
            raise cross_field("max_interval", message)
        return self


class ModelSettings(Section):
    default: Text = BUILTIN_MODELS[0]
    extra: list[Text] = Field(default_factory=list)

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
            raise cross_field("default", message)
        return self


class S3Settings(Section):
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
        return http_url(value, allow_empty=True)

    @field_validator("prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        if value.startswith("/") or ".." in value.split("/"):
            raise PydanticCustomError("s3_prefix", "must not start with / nor hold a .. segment")
        return value


class StagingSettings(Section):
    kind: Literal["local", "s3"] = "local"
    host: Text = "127.0.0.1"
    port: Port = 0
    public_base_url: str = ""
    ttl: Seconds = 3600.0
    upload_format: Literal["flac", "wav"] = "flac"
    s3: S3Settings = Field(default_factory=S3Settings)

    @model_validator(mode="after")
    def _check_s3(self) -> Self:
        if self.kind == "s3" and not self.s3.bucket:
            raise cross_field("kind", 'is "s3": set staging.s3.bucket too')
        return self

    @field_validator("public_base_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return http_url(value, allow_empty=True)


class OutputSettings(Section):
    dir: str = ""
    format: OutputFormat = "wav"
    stems: bool = False
    results_folder: Text = "ProducerBridge"
    sample_format: SampleFormat = "PCM_24"
    allowed_roots: list[Text] = Field(default_factory=lambda: ["~"])

    @field_validator("results_folder")
    @classmethod
    def _check_folder(cls, value: str) -> str:
        if value in (".", "..") or re.search(r"[/\\\x00-\x1f]", value):
            raise PydanticCustomError("folder_name", "must be one folder name, without / or \\")
        return value

    def roots(self) -> tuple[Path, ...]:
        return tuple(Path(root).expanduser() for root in self.allowed_roots)

    def folder(self) -> Path:
        """Where results go when a request names no project: `dir`, or one stable folder
        in the user's music folder (~/Music/producer-bridge), wherever the bridge started."""
        if self.dir:
            return Path(self.dir).expanduser().resolve()
        return platformdirs.user_music_path() / "producer-bridge"


class AudioSettings(Section):
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


class JobsSettings(Section):
    journal: str = ""
    max_running: Annotated[int, Field(ge=1, le=16)] = 2
    audio_roots: list[Text] = Field(default_factory=lambda: ["~"])

    def audio_root_paths(self) -> tuple[Path, ...]:
        return tuple(Path(root).expanduser() for root in self.audio_roots)

    def journal_path(self) -> Path:
        if self.journal:
            return Path(self.journal).expanduser()
        return platformdirs.user_data_path("producer-bridge") / "journal.sqlite3"

    def data_folder(self) -> Path:
        """The bridge's own files: the journal and, beside it, what it has learned."""
        return self.journal_path().parent


class OscSettings(Section):
    host: Text = "127.0.0.1"
    port: Port = 9110
    allow_remote: bool = False
    reply_to: str = ""

    @field_validator("reply_to")
    @classmethod
    def _check_reply_to(cls, value: str) -> str:
        return endpoint(value)


class ReaperSettings(Section):
    osc: str = ""
    import_action: str = ""

    @field_validator("osc")
    @classmethod
    def _check_osc(cls, value: str) -> str:
        return endpoint(value)

    @field_validator("import_action")
    @classmethod
    def _check_action(cls, value: str) -> str:
        if value and not re.fullmatch(r"_?[A-Za-z0-9_]+", value):
            raise PydanticCustomError(
                "command_id", 'must be a REAPER command id, e.g. "_RS7f3a..." or "40001"'
            )
        return value


class MidiSettings(Section):
    inputs: list[Text] = Field(default_factory=list)
    map: dict[str, str] = Field(default_factory=dict)


class DropSettings(Section):
    enabled: bool = True
    folder: str = ""
    project: str = ""
    settle: Seconds = 1.0
    pair_wait: Annotated[float, Field(ge=0, le=60, allow_inf_nan=False)] = 3.0

    def path(self) -> Path:
        if self.folder:
            return Path(self.folder).expanduser()
        return platformdirs.user_data_path("producer-bridge") / "drop"


class AbletonSettings(Section):
    enabled: bool = False
    # Our own remote script (ProducerBridge) by default; AbletonOSC for those who have it.
    link: Literal["remote-script", "abletonosc"] = "remote-script"
    script_port: Port = 11041
    host: Text = "127.0.0.1"
    port: Port = 11000
    listen_port: Port = 11001
    timeout: Seconds = 1.0


PresetValue = str | int | float | bool


class Preset(Section):
    action: ActionName
    prompt: str = ""
    strength: Annotated[float, Field(ge=-1, le=1, allow_inf_nan=False)] | None = None
    model: str = ""
    lyrics: str = ""
    stems: bool | None = None
    params: dict[str, PresetValue] = Field(default_factory=dict)


class TriggerSettings(Section):
    presets: dict[str, Preset] = Field(default_factory=dict)


class FaultSettings(Section):
    latency: SecondsOrZero = 0.0
    rate_429: Share = 0.0
    retry_after: SecondsOrZero = 1.0
    rate_5xx: Share = 0.0
    rate_drop: Share = 0.0
    rate_truncate: Share = 0.0
    rate_task_failed: Share = 0.0
    rate_task_timeout: Share = 0.0
    endpoints: list[FaultEndpoint] = Field(default_factory=list)
    seed: Seed = 0


EmulatedProvider = Literal["mountsea-fuzz", "mountsea-lyria", "acedata"]


class EmulatorSettings(Section):
    provider: EmulatedProvider = "mountsea-fuzz"
    host: Text = "127.0.0.1"
    port: Port = 8790
    token: Text = "emulator-token"  # noqa: S105 - the emulator's public test token
    task_seconds: SecondsOrZero = 2.0
    sample_rate: Annotated[int, Field(ge=8000, le=192000)] = 44100
    create_seconds: Seconds = 30.0
    seed: Seed = 0
    credits: Annotated[int, Field(ge=0)] = 10000
    faults: FaultSettings = Field(default_factory=FaultSettings)


class Config(Section):
    api: ApiSettings = Field(default_factory=ApiSettings)
    polling: PollingSettings = Field(default_factory=PollingSettings)
    budget: BudgetSettings = Field(default_factory=BudgetSettings)
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
