"""Capabilities learned, never bought: what a provider's service accepted and refused.

No request is ever sent to find out what the service offers. When it refuses an action or
a model (a 400 whose words name it), the fact is kept, with the provider, the URL, the
service's message and the date, in `capabilities.json` in the bridge's data folder; a
request of that pair is then refused before anything is staged, uploaded or paid. A
create the service took is kept too, so that `producer-bridge capabilities` can tell
offered, refused and unknown apart. `--forget` removes the file.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from bridge.errors import BadRequestError, Issue
from bridge.files import replace_bytes_atomic
from bridge.jobs.offers import OFFERS

log = logging.getLogger(__name__)

FILE_NAME: Final = "capabilities.json"
Kind = Literal["action", "model"]
State = Literal["offered", "refused", "unknown"]


class _Document(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Fact(_Document):
    """One thing the service said about an action with a model."""

    provider: str
    url: str
    action: str
    model: str
    date: str  # ISO 8601, UTC
    refused: Kind | None = None  # what the refusal named; None: the service took it
    message: str = ""


class LearnedDocument(_Document):
    version: Literal[1] = 1
    facts: list[Fact] = []


class ActionState(_Document):
    state: State
    date: str | None = None
    message: str | None = None


class ModelSummary(_Document):
    contract: str
    actions: dict[str, ActionState]


class Summary(_Document):
    """What is known of one provider at one URL: per model, per action."""

    provider: str
    url: str
    models: dict[str, ModelSummary]


def service_words(exc: BadRequestError) -> str:
    """The service's own words in a refusal, without the bridge's framing."""
    text = exc.message.removeprefix("the service refused the request: ")
    return text.rpartition(" (endpoint=")[0] or text


def refused_kind(exc: BadRequestError, action: str, model: str) -> Kind | None:
    """What a 400 refused: the field it names (`model: ...`, `action: ...`), else the
    action or the model its words name; None for a refusal of some other value, which
    says nothing of what the service offers."""
    text = service_words(exc)
    field = text.partition(":")[0].strip()
    if field in ("model", "action"):
        return "model" if field == "model" else "action"
    if ":" in text and " " not in field and field:
        return None  # another field's refusal
    if action in text:
        return "action"
    return "model" if model in text else None


class Learned:
    """The learned facts in one file; every call reads or writes it whole (it is small)."""

    def __init__(self, folder: Path, *, now: type[dt.datetime] = dt.datetime) -> None:
        self.path = folder / FILE_NAME
        self._now = now
        self._lock = threading.Lock()

    def read(self) -> LearnedDocument:
        try:
            return LearnedDocument.model_validate_json(self.path.read_bytes())
        except FileNotFoundError:
            return LearnedDocument()
        except (OSError, ValidationError) as exc:
            log.warning("%s cannot be read (%s); nothing learned is used", self.path, exc)
            return LearnedDocument()

    def remember(
        self, provider: str, url: str, action: str, model: str, refused: Kind | None, message: str
    ) -> None:
        date = self._now.now(dt.UTC).isoformat(timespec="seconds")
        fact = Fact(
            provider=provider,
            url=url,
            action=action,
            model=model,
            date=date,
            refused=refused,
            message=message,
        )
        with self._lock:
            kept = [f for f in self.read().facts if _key(f) != _key(fact)]
            document = LearnedDocument(facts=[*kept, fact])
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                replace_bytes_atomic(self.path, document.model_dump_json(indent=2).encode())
            except OSError as exc:
                log.warning("cannot keep what the service said in %s: %s", self.path, exc)
        if refused is not None:
            log.warning(
                "learned: %s at %s refuses %s with %s: %s", provider, url, action, model, message
            )

    def forget(self) -> bool:
        """Remove what was learned; False when nothing was."""
        with self._lock:
            try:
                self.path.unlink()
            except FileNotFoundError:
                return False
        return True

    def refusal(self, provider: str, url: str, action: str, model: str) -> Fact | None:
        for fact in self.read().facts:
            if (fact.provider, fact.url.rstrip("/"), fact.model) != (
                provider,
                url.rstrip("/"),
                model,
            ):
                continue
            if fact.refused == "model" or (fact.refused == "action" and fact.action == action):
                return fact
        return None

    def issues(self, provider: str, url: str, action: str, model: str) -> list[Issue]:
        """The learned refusal of this request, in the service's words, with the fix."""
        fact = self.refusal(provider, url, action, model)
        if fact is None:
            return []
        what = f"the model {model!r}" if fact.refused == "model" else f"{action} with {model!r}"
        fix = "another provider" if fact.refused == "model" else "another model or provider"
        message = (
            f"the service at {fact.url} refused {what} on {fact.date[:10]}: "
            f"{fact.message!r}; use {fix}, or `producer-bridge capabilities --forget` to try again"
        )
        return [Issue(fact.refused or "action", message)]

    def summary(self, provider: str, url: str) -> Summary:
        facts = {
            (f.action, f.model): f
            for f in self.read().facts
            if f.provider == provider and f.url.rstrip("/") == url.rstrip("/")
        }
        offer = OFFERS[provider]
        models = {}
        for model, shape in offer.models.items():
            actions = {
                action: _state(facts.get((action, model)), model, facts)
                for action in dict.fromkeys((*shape.actions, *(a for a, m in facts if m == model)))
            }
            models[model] = ModelSummary(contract=shape.name, actions=actions)
        return Summary(provider=provider, url=url, models=models)


def _state(fact: Fact | None, model: str, facts: dict[tuple[str, str], Fact]) -> ActionState:
    banned = next((f for f in facts.values() if f.model == model and f.refused == "model"), None)
    fact = banned or fact
    if fact is None:
        return ActionState(state="unknown")
    state: State = "offered" if fact.refused is None else "refused"
    return ActionState(state=state, date=fact.date, message=fact.message or None)


def _key(fact: Fact) -> tuple[str, str, str, str]:
    return fact.provider, fact.url.rstrip("/"), fact.action, fact.model


def summary_lines(summary: Summary) -> list[str]:
    """The summary for a person: per model, what is offered, refused (when, in the
    service's words) and unknown."""
    lines = [f"{summary.provider} at {summary.url} (learned from answers; nothing is asked)"]
    for model, known in summary.models.items():
        groups: dict[str, list[str]] = {"offered": [], "unknown": []}
        refused = []
        for action, state in known.actions.items():
            if state.state == "refused":
                day = (state.date or "")[:10]
                refused.append(f"    refused {action} on {day}: {state.message!r}")
            else:
                groups[state.state].append(action)
        parts = [f"{name}: {', '.join(found)}" for name, found in groups.items() if found]
        lines.append(f"  {model} [{known.contract}] " + "; ".join(parts or ["all refused"]))
        lines += refused
    return lines
