"""The bridge's configuration: one TOML file and its environment overrides, validated whole.

`settings` holds the sections (one pydantic model each) and `Config`; `fields` the field types
and checks they share; `loading` finds the file, applies the environment and validates it,
reporting every problem at once; `bridge.config_render` shows it back.
"""

from __future__ import annotations

from bridge.config.connections import DEFAULT_API_URL
from bridge.config.fields import split_endpoint
from bridge.config.loading import (
    ENV_API_KEY,
    ENV_API_URL,
    ENV_CONFIG,
    LoadedConfig,
    default_config_path,
    load_config,
)
from bridge.config.settings import (
    BUILTIN_MODELS,
    FAULT_ENDPOINTS,
    AbletonSettings,
    ApiSettings,
    BudgetSettings,
    Config,
    DropSettings,
    EmulatorSettings,
    FaultEndpoint,
    FaultSettings,
    JobsSettings,
    MidiSettings,
    ModelSettings,
    OscSettings,
    OutputFormat,
    OutputSettings,
    PollingSettings,
    Preset,
    ReaperSettings,
    S3Settings,
    StagingSettings,
    TriggerSettings,
)
from bridge.config_render import check_report, render_toml

__all__ = [
    "BUILTIN_MODELS",
    "DEFAULT_API_URL",
    "ENV_API_KEY",
    "ENV_API_URL",
    "ENV_CONFIG",
    "FAULT_ENDPOINTS",
    "AbletonSettings",
    "ApiSettings",
    "BudgetSettings",
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
