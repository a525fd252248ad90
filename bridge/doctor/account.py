"""Checks of the account: what the service was seen to refuse, and the credits left."""

from __future__ import annotations

from collections.abc import Callable

from bridge.api.learned import Summary
from bridge.doctor.report import OK, WARN, Check
from bridge.errors import ApiError, AuthError

# Asks the usage API for the balance (url, key) -> credits; raises ApiError.
Balance = Callable[[str, str], float]


def check_capabilities(summary: Summary) -> Check:
    """What the bridge learned from the service's refusals (nothing is asked to find out)."""
    refused = [
        f"{action} with {model!r} refused on {(state.date or '')[:10]}: {state.message!r}"
        for model, known in summary.models.items()
        for action, state in known.actions.items()
        if state.state == "refused"
    ]
    if not refused:
        return Check("capabilities", OK, f"no refusal learned from {summary.url}")
    return Check(
        "capabilities",
        WARN,
        f"{summary.url}: " + "; ".join(refused),
        "such requests are refused before upload: use another model or provider, or "
        "`producer-bridge capabilities --forget` to try them again",
    )


def check_credits(account: tuple[str, str] | None, balance: Balance) -> Check:
    """The balance, from the provider's usage API at (url, key); never more than a warning."""
    if account is None:
        return Check("credits", OK, "no API key set: the built-in emulator costs nothing")
    url, key = account
    try:
        credits = balance(url, key)
    except AuthError as exc:
        return Check(
            "credits",
            WARN,
            f"the usage API at {url} refused the key (HTTP {exc.status_code})",
            "check api.key; jobs still run, without their cost",
        )
    except ApiError as exc:
        return Check(
            "credits",
            WARN,
            f"the usage API at {url} cannot tell the balance: {exc.message}",
            "check api.usage_url (PRODUCER_USAGE_URL); jobs still run, without their cost",
        )
    return Check("credits", OK, f"{credits:g} credits left ({url})")
