"""A job stays with the provider it started on: killed while its task is generating, it
resumes on that provider's twin after api.provider switched to the other (its create sent
once, the other twin never asked); without a key for its provider it fails naming the
setting, sends nothing, and `jobs retry` finishes it once the key is set."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.cli.main import main
from bridge.config import BUILTIN_MODELS, EmulatorSettings
from bridge.emulator.server import EmulatorServer
from bridge.jobs.offers import OFFERS
from bridge.jobs.state import JobStatus
from bridge.jobs.wire import Defaults, parse_request
from bridge.journal import Journal
from tests.test_chaos import bridge, killed_at, the_job

TOKENS = {"mountsea": "mountsea-token", "acedata": "acedata-token"}


@pytest.fixture
def twins() -> Iterator[dict[str, EmulatorServer]]:
    """Both providers' twins; a task takes long enough for a kill to land while it runs."""
    settings = EmulatorSettings(port=0, task_seconds=0.5, create_seconds=2.0)
    with (
        EmulatorServer(settings.model_copy(update={"token": TOKENS["mountsea"]})) as mountsea,
        EmulatorServer(
            settings.model_copy(update={"token": TOKENS["acedata"], "provider": "acedata"})
        ) as acedata,
    ):
        yield {"mountsea": mountsea, "acedata": acedata}


def configured(
    jobs_config: Path, name: str, chosen: str, twins: dict[str, EmulatorServer], *own: str
) -> Path:
    """`jobs_config` with api.provider = `chosen` at its twin, and each provider in `own`
    reached through its own [api.providers.<name>] table."""
    server = twins[chosen]
    text = jobs_config.read_text().replace(
        "[api]\n", f'[api]\nprovider = "{chosen}"\nurl = "{server.url}"\nkey = "{TOKENS[chosen]}"\n'
    )
    for provider in own:
        usage = f'usage_url = "{twins[provider].url}"\n' if provider == "mountsea" else ""
        text += (
            f'\n[api.providers.{provider}]\nurl = "{twins[provider].url}"\n'
            f'key = "{TOKENS[provider]}"\n{usage}'
        )
    path = jobs_config.with_name(name)
    path.write_text(text)
    return path


def journal_of(tmp_path: Path) -> Path:
    return tmp_path / "data" / "journal.sqlite3"


def manifest_of(project: Path) -> dict[str, object]:
    (path,) = project.glob("ProducerBridge/*/manifest.json")
    data: dict[str, object] = json.loads(path.read_text())
    return data


@pytest.mark.parametrize(
    ("started", "switched"), [("mountsea", "acedata"), ("acedata", "mountsea")]
)
def test_a_job_killed_while_generating_resumes_on_its_provider_after_the_switch(
    jobs_config: Path,
    tmp_path: Path,
    twins: dict[str, EmulatorServer],
    started: str,
    switched: str,
) -> None:
    project = tmp_path / "song"
    before = configured(jobs_config, "before.toml", started, twins)
    run = bridge(before, "run", "create_music", "--prompt", "warm pop", "--project", str(project))
    assert killed_at(run, ("submitted", "generate", 1)), "run ended"
    assert the_job(journal_of(tmp_path))[1] == JobStatus.RUNNING

    after = configured(jobs_config, "after.toml", switched, twins, started)
    assert main(["--config", str(after), "jobs", "resume"]) == 0

    _, status, error = the_job(journal_of(tmp_path))
    assert status == JobStatus.COMPLETED, error
    assert twins[started].created("create_music") == 1  # polled again, never sent again
    assert twins[switched].stats()["requests"] == {}
    # Its cost comes from its own provider's usage API; acedata has none.
    credits = manifest_of(project)["credits"]
    assert (credits is None) == (started == "acedata")


def journaled_acedata_job(tmp_path: Path) -> str:
    """A job judged for acedata and accepted, as a stopped process leaves it: queued."""
    defaults = Defaults("FUZZ-2.0 Pro", BUILTIN_MODELS, str(tmp_path / "song"),
                        offer=OFFERS["acedata"])  # fmt: skip
    request = parse_request(
        {"version": 1, "action": "create_music", "prompts": [{"text": "dub"}]}, defaults
    )
    with Journal(journal_of(tmp_path)) as journal:
        return journal.create(request).id


def test_without_a_key_for_its_provider_the_job_fails_naming_it_then_retry_finishes_it(
    jobs_config: Path,
    tmp_path: Path,
    twins: dict[str, EmulatorServer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    job_id = journaled_acedata_job(tmp_path)
    mountsea_only = configured(jobs_config, "mountsea.toml", "mountsea", twins)
    assert main(["--config", str(mountsea_only), "jobs", "resume"]) == 1
    _, status, error = the_job(journal_of(tmp_path))
    assert status == JobStatus.FAILED
    assert error == (
        "this job was started on provider acedata, and no API key is set here for it: set "
        "api.providers.acedata.key (or the environment variable PRODUCER_API_KEY_ACEDATA), "
        "then `producer-bridge jobs retry` this job: it goes on from its last checkpoint with "
        "the task ids it kept, and nothing paid for is sent again"
    )
    assert error in capsys.readouterr().err
    assert twins["mountsea"].stats()["requests"] == {}
    assert twins["acedata"].stats()["requests"] == {}

    both = configured(jobs_config, "both.toml", "mountsea", twins, "acedata")
    assert main(["--config", str(both), "jobs", "retry", job_id[:8]]) == 0
    assert the_job(journal_of(tmp_path))[1] == JobStatus.COMPLETED
    assert twins["acedata"].created("create_music") == 1
    assert twins["mountsea"].stats()["requests"] == {}


def test_the_built_in_emulator_does_not_send_a_job_to_another_providers_twin(
    jobs_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = journaled_acedata_job(tmp_path)
    config = jobs_config.with_name("built-in.toml")
    config.write_text(jobs_config.read_text() + "\n[emulator]\ntask_seconds = 0.05\n")
    # No key at all: the built-in emulator answers, as the twin of api.provider (mountsea).
    assert main(["--config", str(config), "jobs", "resume"]) == 1
    _, status, error = the_job(journal_of(tmp_path))
    assert status == JobStatus.FAILED
    assert error is not None
    assert error.endswith(
        "; a job started on the built-in emulator goes on there once api.provider = 'acedata' "
        "(or PRODUCER_API_PROVIDER=acedata)"
    )
    kept = tmp_path / "data" / "emulator" / "tasks"
    assert list(kept.glob("*.json")) == []  # the mountsea twin was never asked

    monkeypatch.setenv("PRODUCER_API_PROVIDER", "acedata")
    assert main(["--config", str(config), "jobs", "retry", job_id[:8]]) == 0
    assert the_job(journal_of(tmp_path))[1] == JobStatus.COMPLETED
    kinds = [json.loads(path.read_text())["kind"] for path in kept.glob("*.json")]
    assert kinds.count("create_music") == 1
