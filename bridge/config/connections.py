"""Each provider's own connection settings (`[api.providers.<name>]`) and where a provider
is reached when nothing sets it: `ApiSettings.connection` (settings.py) puts them together.

Precedence for the chosen provider (`api.provider`): its own table (or its own environment
variable, PRODUCER_API_KEY_ACEDATA...) beats api.url / api.key / api.usage_url (or
PRODUCER_API_KEY...), which beat the provider's default. Another provider has only its own
table and its default: api.url and api.key are never sent to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_core import PydanticCustomError

from bridge.config.fields import Section, http_url

DEFAULT_API_URL = "https://api.mountsea.ai"

DEFAULT_USAGE_URL = "https://dk.mountsea.ai"
# AceData Cloud's Producer API (its `producer/docs/`); it documents no usage API.
ACEDATA_API_URL = "https://api.acedata.cloud"
# Where each provider is reached when nothing sets its URL.
PROVIDER_URLS: dict[str, str] = {"mountsea": DEFAULT_API_URL, "acedata": ACEDATA_API_URL}


class ProviderConnection(Section):
    """`[api.providers.<name>]`: one provider's own URL and key; "" is not set."""

    url: str = ""
    key: SecretStr = SecretStr("")

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return http_url(value, allow_empty=True)


class MountseaConnection(ProviderConnection):
    usage_url: str = ""

    @field_validator("usage_url")
    @classmethod
    def _check_usage_url(cls, value: str) -> str:
        return http_url(value, allow_empty=True)


class ProvidersSettings(Section):
    mountsea: MountseaConnection = Field(default_factory=MountseaConnection)
    acedata: ProviderConnection = Field(default_factory=ProviderConnection)


@dataclass(frozen=True)
class Connection:
    """Where one provider is reached and with which key ("" when none is set)."""

    url: str
    key: SecretStr
    usage_url: str


def own_values(data: dict[str, Any]) -> dict[str, Any]:
    """What the chosen provider's own table sets, to stand for api.url, key and usage_url
    (a value its own field refuses is reported there, once, and not taken)."""
    providers = data.get("providers")
    name = data.get("provider", "mountsea")
    own = providers.get(name) if isinstance(providers, dict) and isinstance(name, str) else None
    if not isinstance(own, dict):
        return {}
    fields = (
        MountseaConnection.model_fields if name == "mountsea" else ProviderConnection.model_fields
    )
    found: dict[str, Any] = {}
    for field in fields:
        value = own.get(field)
        if not isinstance(value, str) or not value:
            continue
        if field != "key":
            try:
                value = http_url(value)
            except PydanticCustomError:
                continue
        found[field] = value
    return found
