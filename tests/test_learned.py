"""Capabilities learned, never bought: a refusal of the lyria twin is kept with its date,
the same request is then refused before any upload, `capabilities` and `doctor` show it,
`--forget` clears it; the OSC address answers with it as JSON."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bridge.api.learned import Learned, refused_kind, service_words
from bridge.cli.main import main
from bridge.config import EmulatorSettings
from bridge.emulator.server import EmulatorServer
from bridge.errors import BadRequestError
from tests.test_doctor import doctor

FUZZ = "FUZZ-2.0 Pro"


@pytest.fixture
def lyria_twin() -> Iterator[EmulatorServer]:
    settings = EmulatorSettings(
        port=0, task_seconds=0.02, create_seconds=2.0, provider="mountsea-lyria"
    )
    with EmulatorServer(settings) as server:
        yield server


def replace(config: Path, tmp_path: Path, clip: Path, url: str) -> int:
    return main(
        [
            "--config",
            str(config),
            "run",
            "replace_music",
            "--model",
            FUZZ,
            "--clip",
            str(clip),
            "--start",
            "1",
            "--end",
            "2",
            "--prompt",
            "strings",
            "--api-url",
            url,
            "--out",
            str(tmp_path / "song"),
        ]
    )


def test_a_refused_action_is_learned_and_then_refused_before_any_upload(
    jobs_config: Path,
    tmp_path: Path,
    tone: Callable[..., Path],
    lyria_twin: EmulatorServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clip = tone(4.0)
    assert replace(jobs_config, tmp_path, clip, lyria_twin.url) == 1
    first = capsys.readouterr().err
    assert "action: unsupported action 'replace_music'" in first
    uploads = lyria_twin.stats()["requests"]["upload"]
    assert uploads == 1  # the FUZZ contract was tried once: the twin refused the action

    assert replace(jobs_config, tmp_path, clip, lyria_twin.url) == 1
    second = capsys.readouterr().err
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert f"refused replace_music with '{FUZZ}' on {today}" in second
    assert "only create_music is offered" in second  # the service's own words
    assert "another model or provider" in second
    assert lyria_twin.stats()["requests"]["upload"] == uploads  # nothing staged or uploaded
    assert lyria_twin.stats()["tasks_created"].get("replace_music", 0) == 0

    base = ["--config", str(jobs_config), "capabilities", "--api-url", lyria_twin.url]
    assert main(base) == 0
    shown = capsys.readouterr().out
    assert f"refused replace_music on {today}" in shown
    assert main([*base, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    state = summary["models"][FUZZ]["actions"]["replace_music"]
    assert (state["state"], state["date"][:10]) == ("refused", today)
    assert summary["models"][FUZZ]["actions"]["cover_music"]["state"] == "unknown"

    assert main([*base, "--forget"]) == 0
    capsys.readouterr()
    assert not Learned(tmp_path / "data").path.exists()
    assert main(base) == 0
    assert "refused" not in capsys.readouterr().out


def test_doctor_shows_the_refusal_with_its_date(
    jobs_config: Path, tmp_path: Path, lyria_twin: EmulatorServer
) -> None:
    learned = Learned(tmp_path / "data")
    learned.remember(
        "mountsea", lyria_twin.url, "cover_music", FUZZ, "action", "action: not offered"
    )
    home = tmp_path / "home"
    home.mkdir()
    report = doctor(jobs_config, home, "--api-url", lyria_twin.url)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    line = report["capabilities"]
    assert line.status == "warn"
    assert f"cover_music with '{FUZZ}' refused on {today}: 'action: not offered'" in line.detail
    assert "capabilities --forget" in line.fix
    assert report["credits"].status == "ok"
    assert report["credits"].detail.startswith("10000 credits left")


def test_a_model_the_service_refuses_is_refused_for_every_action(tmp_path: Path) -> None:
    learned = Learned(tmp_path)
    learned.remember("mountsea", "http://x/", "create_music", FUZZ, "model", "model: no")
    (issue,) = learned.issues("mountsea", "http://x", "cover_music", FUZZ)
    assert issue.field == "model"
    assert "use another provider" in issue.message
    assert learned.issues("mountsea", "http://x", "create_music", "FUZZ-2.0") == []
    assert learned.issues("mountsea", "http://elsewhere", "create_music", FUZZ) == []


@pytest.mark.parametrize(
    ("words", "kind"),
    [
        ("model: unsupported model 'FUZZ-2.0 Pro': use 'Lyria 3 Pro'", "model"),
        ("action: unsupported action 'cover_music'", "action"),
        ("cover_music is not available for this model", "action"),
        ("The model FUZZ-2.0 Pro does not exist", "model"),
        ("title: must be at most 80 characters", None),
        ("Bad Request", None),
    ],
)
def test_what_a_refusal_names_decides_whether_it_is_learned(words: str, kind: str | None) -> None:
    refusal = BadRequestError(
        f"the service refused the request: {words}", status_code=400, endpoint="audios"
    )
    assert service_words(refusal) == words
    assert refused_kind(refusal, "cover_music", FUZZ) == kind
