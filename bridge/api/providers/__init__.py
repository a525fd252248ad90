"""Providers: who sells the service, and how to speak to them.

A provider owns its base URL, its auth header, its wire contracts (chosen by model), the
polling it advises and its Usage & Credits API. What its contracts can express is the
core's data (`jobs.offers`), judged at intake; the contracts here turn requests into bodies.

`mountsea` (two contracts, chosen by the model) and `acedata` (snake_case bodies, a
`success`/`data` envelope, tasks asked by `POST /producer/tasks {"id"}`, no usage API).
A job stays with the provider it was judged for: `judged` refuses to send it elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from bridge.api.contract import SEED, Contract
from bridge.api.polling import PollPlan
from bridge.api.providers import acedata, mountsea
from bridge.errors import ConfigError, Issue, JobError
from bridge.jobs.offers import ACEDATA, MOUNTSEA, ProviderOffer


@dataclass(frozen=True)
class Provider:
    name: str
    offer: ProviderOffer
    base_url: str
    usage_url: str | None  # None: the provider documents no usage API (credits: null)
    contracts: Mapping[str, Contract]  # by name (`ContractShape.name`)
    polling: PollPlan  # what the provider advises; configuration may change it

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def usage_headers(self, key: str) -> dict[str, str]:
        return {"X-API-Key": key}

    def contract_for(self, model: str) -> Contract:
        return self.contracts[self.offer.shape_for(model).name]

    def judged(self, provider: str | None, contract: str | None, model: str) -> Contract:
        """The contract a journaled job was judged for (jobs from before providers: the
        one its model speaks); JobError when this provider cannot go on with it."""
        if provider is not None and provider != self.name:
            raise JobError(
                f"this job was judged for provider {provider}, and the bridge now speaks to "
                f"{self.name}: set api.provider = {provider!r} to go on with it, or cancel it"
            )
        return self.contract_for(model) if contract is None else self.contract_named(contract)

    def contract_named(self, name: str) -> Contract:
        """The contract a journaled job started on."""
        found = self.contracts.get(name)
        if found is None:
            known = ", ".join(self.contracts)
            raise JobError(
                f"this job was judged for the contract {name!r}, which provider "
                f"{self.name} does not speak ({known}); retry it as a new request"
            )
        return found

    @property
    def common(self) -> Contract:
        """The contract of what every model shares: upload, stems, download, tasks."""
        return self.contracts[self.offer.default.name]


MOUNTSEA_PROVIDER: Final = Provider(
    name=MOUNTSEA.name,
    offer=MOUNTSEA,
    base_url=mountsea.BASE_URL,
    usage_url=mountsea.USAGE_URL,
    contracts={SEED.name: SEED, mountsea.LYRIA_CONTRACT.name: mountsea.LYRIA_CONTRACT},
    # PRODUCER_API.md: "every 3 to 5 s, with backoff".
    polling=PollPlan(interval=3.0, max_interval=15.0, backoff=1.5, deadline=900.0),
)
ACEDATA_PROVIDER: Final = Provider(
    name=ACEDATA.name,
    offer=ACEDATA,
    base_url=acedata.BASE_URL,
    usage_url=None,
    contracts={acedata.ACEDATA_CONTRACT.name: acedata.ACEDATA_CONTRACT},
    # ProducerMCP: "every 3-5 seconds"; its docs: generation takes about 40 s.
    polling=PollPlan(interval=3.0, max_interval=15.0, backoff=1.5, deadline=900.0),
)
PROVIDERS: Final = {provider.name: provider for provider in (MOUNTSEA_PROVIDER, ACEDATA_PROVIDER)}


def provider_named(name: str) -> Provider:
    found = PROVIDERS.get(name)
    if found is None:
        known = ", ".join(PROVIDERS)
        raise ConfigError([Issue("api.provider", f"unknown provider {name!r}; known: {known}")])
    return found
