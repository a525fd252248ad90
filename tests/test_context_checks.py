"""Every value a controller sets in the context is judged when it is set, by the rules a
request obeys, and refused there naming the value; a refused value leaves the context as it
was, so the next trigger is not broken by it. Toggles' 0 and 1 are booleans."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridge.config import Config
from bridge.daemon.context import Context
from bridge.daemon.context_checks import part_issues
from bridge.emulator.server import EmulatorServer
from bridge.jobs.wire import Defaults
from tests.daemon_harness import OscListener, daemon_config, running_daemon

CONFIG = Config()
DEFAULTS = Defaults(CONFIG.models.default, CONFIG.models.known(), "/music/p")


def issues_after(part: str, change: Callable[[Context], None]) -> dict[str, str]:
    context = Context()
    change(context)
    return {issue.field: issue.message for issue in part_issues(context, part, DEFAULTS)}


@pytest.mark.parametrize(
    ("name", "value", "field", "said"),
    [
        ("strength", "loud", "prompts[0].strength", "must be a number (got 'loud')"),
        ("weirdness", 7, "weirdness", "must be between 0 and 1 (got 7)"),
        ("seed", -1, "params.seed", "must be at least 0"),
        ("coverStrength", 2.5, "coverStrength", "must be between 0 and 1"),
        ("model", "FUZZ-9", "model", "unknown model 'FUZZ-9'"),
        ("stems", 2, "options.stems", "must be true or false"),
    ],
)
def test_a_bad_parameter_is_refused_when_it_is_set(
    name: str, value: Any, field: str, said: str
) -> None:
    found = issues_after(f"param:{name}", lambda c: c.set_param(name, value))
    assert field in found, found
    assert said in found[field]


@pytest.mark.parametrize(
    ("name", "sent", "kept"),
    [("stems", 1, True), ("stems", 0.0, False), ("makeInstrumental", 1.0, True), ("seed", 7.0, 7)],
)
def test_a_controllers_numbers_are_taken_as_the_parameter_means_them(
    name: str, sent: Any, kept: Any
) -> None:
    context = Context()
    context.set_param(name, sent)
    assert context.params[name] == kept
    assert type(context.params[name]) is type(kept)
    assert part_issues(context, f"param:{name}", DEFAULTS) == []


def test_a_relative_project_and_a_time_beyond_a_day_are_refused_by_name() -> None:
    def relative(context: Context) -> None:
        context.project = "songs/mine"

    def far(context: Context) -> None:
        context.selection = {"start": 0.0, "end": 1e9}

    assert "must be an absolute path" in issues_after("project", relative)["project.folder"]
    assert "selection.end" in issues_after("selection", far)


def test_an_incomplete_context_is_not_held_against_the_part_just_set() -> None:
    # No clip yet, no project: a good strength is still a good strength.
    assert issues_after("param:strength", lambda c: c.set_param("strength", 0.6)) == {}


def test_over_osc_bad_values_are_refused_and_the_context_keeps_working(
    jobs_config: Path,
    tmp_path: Path,
    port: int,
    listener: OscListener,
    emulator: EmulatorServer,
) -> None:
    config = daemon_config(
        jobs_config, tmp_path, port, osc=f'port = {port}\nreply_to = "127.0.0.1:{listener.port}"'
    )
    missing = tmp_path / "Sogn"  # a typo of a project that does not exist
    refused = [
        ("/bridge/context/param", ["strength", "loud"], "must be a number (got 'loud')"),
        ("/bridge/context/param", ["weirdness", 7], "weirdness: must be between 0 and 1"),
        ("/bridge/context/project", ["relative/song"], "must be an absolute path"),
        ("/bridge/context/project", ["/etc"], "outside the allowed roots"),
        ("/bridge/context/project", [str(missing)], "is not a folder; create the project"),
    ]
    with running_daemon(config, emulator.url, port):
        listener.send(port, "/bridge/context/param", "stems", 1)
        listener.wait_for("/bridge/ok")
        for address, args, said in refused:
            listener.send(port, address, *args)
            _, reason = listener.wait_for("/bridge/rejected", lambda a, d=address: a[0] == d)
            assert said in reason
        listener.send(port, "/bridge/context/get")
        (state,) = listener.wait_for("/bridge/context/state")
    context = json.loads(state)
    assert context["params"] == {"stems": True}
    assert context["project"] is None
    assert not missing.exists()  # a typo never becomes a folder
