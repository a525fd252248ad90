"""`producer-bridge run` end to end: every action, through the in-process emulator or a
separate one, into a temporary folder; files decoded with soundfile."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from bridge.app import request_defaults
from bridge.cli.main import main
from bridge.config import EmulatorSettings, load_config
from bridge.emulator.server import EmulatorServer
from bridge.errors import RequestError
from bridge.jobs.wire import parse_request

RATE = 44100  # what the emulator renders at
CLIP_SECONDS = 10.0
FAST_CONFIG = """
[polling]
interval = 0.02
max_interval = 0.1
[api]
retry_base = 0.01
retry_cap = 0.05
[emulator]
task_seconds = 0.02
create_seconds = 4.0
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("PRODUCER_API_KEY", "PRODUCER_API_URL", "PRODUCER_BRIDGE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "bridge.toml"
    path.write_text(FAST_CONFIG)
    return path


@pytest.fixture
def clip(tone: Callable[..., Path]) -> Path:
    return tone(CLIP_SECONDS)


def run(config: Path, out: Path, *args: str) -> int:
    return main(["--config", str(config), "run", *args, "--out", str(out)])


def written(out: Path) -> tuple[Path, dict[str, Any]]:
    """The one results folder in project `out`, and its manifest."""
    (folder,) = (path for path in (out / "ProducerBridge").iterdir() if path.is_dir())
    return folder, json.loads((folder / "manifest.json").read_text())


def seconds_of(path: Path) -> float:
    info = sf.info(str(path))
    assert info.samplerate == RATE
    return info.frames / info.samplerate


EDITS = [
    ("replace_music", ["--start", "3", "--end", "6.5", "--prompt", "disco strings"], 10.0),
    ("extend_music", ["--continue-at", "6", "--duration", "5", "--prompt", "more"], 11.0),
    ("cover_music", ["--cover-strength", "0.7", "--prompt", "bossa nova"], 10.0),
    ("swap_music_sound", ["--prompt", "disco", "--strength", "0.9"], 10.0),
    ("swap_music_vocals", ["--prompt", "male baritone", "--strength", "1"], 10.0),
    ("music_variation", ["--prompt", ""], 10.0),
]


@pytest.mark.parametrize(("action", "options", "seconds"), EDITS)
def test_each_edit_action_writes_a_wav_of_the_length_its_parameters_imply(
    config: Path, clip: Path, tmp_path: Path, action: str, options: list[str], seconds: float
) -> None:
    out = tmp_path / "out"
    assert run(config, out, action, "--clip", str(clip), *options) == 0
    folder, record = written(out)
    assert seconds_of(folder / "result.wav") == seconds
    assert record["action"] == action
    assert set(record["taskIds"]) == {"upload", "generate", "result:1"}


def test_create_uses_its_prompts_time_ranges_for_its_length(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = run(
        config,
        out,
        "create_music",
        "--title",
        "夏天",
        "--seed",
        "349732",
        "--prompt",
        "emotional pop",
        "--strength",
        "0.5",
        "--prompt",
        "卡断",
        "--strength",
        "-0.5",
        "--range",
        "0:6.5",
    )
    assert code == 0
    folder, record = written(out)
    assert "夏天" in folder.name
    assert seconds_of(folder / "result.wav") == 6.5
    sounds = record["request"]["sounds"]
    assert sounds[1] == {"text": "卡断", "strength": -0.5, "timeStart": 0.0, "timeEnd": 6.5}


def test_stems_come_back_aligned_and_sum_to_the_result(
    config: Path, clip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert (
        run(config, out, "swap_music_sound", "--clip", str(clip), "--prompt", "funk", "--stems")
        == 0
    )
    folder, _ = written(out)
    mix, _ = sf.read(str(folder / "result.wav"))
    stems = [
        sf.read(str(folder / "stems" / f"{name}.wav"))[0]
        for name in ("vocals", "drums", "bass", "other")
    ]
    assert all(stem.shape == mix.shape for stem in stems)
    assert np.abs(sum(stems) - mix).max() <= 4 / 32768


def test_an_mp3_fetched_from_the_service_lands_as_wav(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run(config, out, "create_music", "--prompt", "pop", "--format", "mp3") == 0
    folder, _ = written(out)
    info = sf.info(str(folder / "result.wav"))
    assert (info.samplerate, info.subtype) == (RATE, "PCM_24")
    assert abs(info.frames / info.samplerate - 4.0) < 0.1


def test_a_clip_in_a_format_the_service_refuses_is_sent_as_wav(
    config: Path, tone: Callable[..., Path], tmp_path: Path
) -> None:
    aiff = tone(5.0, name="take.aiff")
    assert (
        run(config, tmp_path / "out", "music_variation", "--clip", str(aiff), "--prompt", "") == 0
    )
    assert seconds_of(written(tmp_path / "out")[0] / "result.wav") == 5.0


def test_progress_and_the_emulator_notice_go_to_stderr_and_paths_to_stdout(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, tmp_path / "out", "create_music", "--prompt", "pop") == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert [Path(line).name for line in lines] == ["result.wav", "manifest.json"]
    assert all(Path(line).is_file() for line in lines)
    assert "no API key set: using the built-in emulator" in captured.err
    assert "not from a model" in captured.err
    assert "[generate] task" in captured.err
    assert ": completed" in captured.err


def test_the_paths_printed_are_the_paths_written_even_with_colons_in_them(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / ":smile: take"
    assert run(config, out, "create_music", "--prompt", "pop") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert all(line.startswith(f"{out}/") and Path(line).is_file() for line in lines)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (
            ["replace_music", "--clip", "x.wav", "--start", "5", "--end", "2", "--prompt", "a"],
            "replaceEnd",
        ),
        (
            ["swap_music_vocals", "--clip", "x.wav", "--prompt", "a", "--strength", "0.1"],
            "sounds[0].strength",
        ),
        (["create_music", "--prompt", "a", "--weirdness", "3"], "weirdness"),
        (["cover_music", "--prompt", "a"], "--clip"),
        (["create_music", "--prompt", "a", "--model", "FUZZ-9"], "model"),
    ],
)
def test_invalid_requests_fail_in_one_line_naming_the_field_before_any_network_call(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], field: str
) -> None:
    assert run(config, tmp_path / "out", *options) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: request is invalid: {field}: ")
    assert len(err.strip().splitlines()) == 1
    assert "emulator" not in err  # nothing was started
    assert not (tmp_path / "out").exists()


def test_times_beyond_the_clip_are_refused_with_the_clip_length(
    config: Path, clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        config,
        tmp_path / "out",
        "extend_music",
        "--clip",
        str(clip),
        "--continue-at",
        "12",
        "--duration",
        "5",
        "--prompt",
        "more",
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "continueAt: must be at most 10 s, the uploaded clip's length (got 12)" in err


def test_a_strength_before_any_prompt_is_a_usage_error(config: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        run(config, tmp_path / "out", "create_music", "--strength", "0.4")
    assert caught.value.code == 2


def test_a_clip_for_the_hosted_service_needs_a_public_staging_address(
    config: Path,
    clip: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRODUCER_API_KEY", "sk-hosted-key-123456")
    code = run(config, tmp_path / "out", "cover_music", "--clip", str(clip), "--prompt", "jazz")
    err = capsys.readouterr().err
    assert code == 1
    assert "staging.public_base_url" in err
    assert "sk-hosted-key-123456" not in err


def test_the_api_key_appears_in_no_log_progress_output_or_file(
    config: Path,
    clip: Path,
    tmp_path: Path,
    own_data_folder: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = "sk-live-7f3a9c2e5d1b4a6f8e0c"
    monkeypatch.setenv("PRODUCER_API_KEY", key)
    with EmulatorServer(EmulatorSettings(port=0, task_seconds=0.02, token=key)) as server:
        out = tmp_path / "out"
        code = main(
            [
                "-vv",
                "--config",
                str(config),
                "run",
                "replace_music",
                "--clip",
                str(clip),
                "--start",
                "1",
                "--end",
                "2",
                "--prompt",
                "x",
                "--stems",
                "--api-url",
                server.url,
                "--out",
                str(out),
            ]
        )
        assert code == 0
        shown = main(["--config", str(config), "config", "show"])
        assert shown == 0
    captured = capfd.readouterr()
    assert "Authorization" in captured.err or "HTTP Request" in captured.err  # -vv logged traffic
    assert key not in captured.out + captured.err
    assert "********" in captured.out
    files = [path for path in out.rglob("*") if path.is_file()]
    assert len(files) == 9  # result, spliced, four stems, manifest, index and its lock file
    journal = [path for path in own_data_folder.rglob("*") if path.is_file()]
    assert any(path.name == "journal.sqlite3" for path in journal)
    assert all(key.encode() not in path.read_bytes() for path in files + journal)


def test_the_console_command_and_the_module_both_answer_version() -> None:
    module = subprocess.run(
        [sys.executable, "-m", "bridge", "--version"], capture_output=True, text=True, check=True
    )
    script = Path(sys.executable).with_name("producer-bridge")
    command = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
    assert module.stdout == command.stdout == "producer-bridge 0.1.0\n"


def test_the_emulator_command_serves_until_interrupted_and_a_second_one_names_the_port() -> None:
    import re
    import signal

    import httpx

    script = str(Path(sys.executable).with_name("producer-bridge"))
    first = subprocess.Popen(
        [script, "emulator", "--port", "0", "--task-seconds", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout is not None
        banner = [first.stdout.readline() for _ in range(2)]
        assert "not from a model" in banner[0]
        match = re.search(r"listening on (http://127\.0\.0\.1:(\d+))", banner[1])
        assert match, banner
        url, port = match.group(1), match.group(2)
        with httpx.Client() as http:
            answer = http.post(
                f"{url}/producer/audios",
                headers={"Authorization": "Bearer emulator-token"},
                json={"action": "create_music", "model": "FUZZ-2.0"},
            )
        assert answer.status_code == 201
        assert "taskId" in answer.json()
        second = subprocess.run(
            [script, "emulator", "--port", port], capture_output=True, text=True, timeout=30
        )
        assert second.returncode == 1
        assert f"127.0.0.1:{port}" in second.stderr
        assert "another instance" in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        _, err = first.communicate(timeout=30)
    assert first.returncode == 0, err


def test_bad_emulator_options_are_all_named_by_their_option(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--config", str(config), "emulator", "--rate-429", "2", "--port", "70000"])
    err = capsys.readouterr().err
    assert code == 1
    assert "--rate-429: must be between 0 and 1 (got 2.0)" in err
    assert "--port: must be between 0 and 65535 (got 70000)" in err


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ("9:7", "selection: 9..7 s ends before it starts"),
        ("20:22", "selection: 20..22 s ends after the item, which ends at 14 s on the timeline"),
        ("5:12", "selection: 5..12 s starts before the item, which starts at 10 s on the timeline"),
    ],
)
def test_a_selection_that_cannot_be_mapped_onto_the_clip_is_named(
    config: Path,
    clip: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    selection: str,
    message: str,
) -> None:
    options = ["--position", "10", "--length", "4", "--selection", selection, "--prompt", "a"]
    assert run(config, tmp_path / "out", "replace_music", "--clip", str(clip), *options) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "replaceStart" not in err  # one message, in the timeline's terms
    assert not (tmp_path / "out").exists()


def test_a_selection_needs_both_ends(config: Path, clip: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        run(config, tmp_path / "out", "replace_music", "--clip", str(clip), "--selection", "3:")
    assert caught.value.code == 2


@pytest.mark.parametrize(
    ("options", "document"),
    [
        (["--seed", "-1"], {"params": {"seed": -1}}),
        (["--sample-rate", "1000"], {"project": {"folder": "/music", "sampleRate": 1000}}),
        (["--prompt", "b"] * 4, {"prompts": [{"text": "a"}] + [{"text": "b"}] * 4}),
        (["--selection", "inf:4"], {"selection": {"start": float("inf"), "end": 4}}),
    ],
)
def test_run_refuses_what_a_dropped_request_refuses_in_the_same_words(
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    document: dict[str, Any],
) -> None:
    dropped = {"version": 1, "action": "create_music", "prompts": [{"text": "a"}], **document}
    with pytest.raises(RequestError) as caught:
        parse_request(dropped, request_defaults(load_config(config).config))
    assert run(config, tmp_path / "out", "create_music", "--prompt", "a", *options) == 1
    assert capsys.readouterr().err == f"error: {caught.value.message}\n"


def test_results_without_a_project_go_to_one_folder_in_the_music_folder_wherever_run_starts(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    started_in = tmp_path / "a-clone"
    started_in.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_MUSIC_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(started_in)
    code = main(["--config", str(config), "run", "create_music", "--prompt", "warm synth pop"])
    assert code == 0
    results = home / "Music" / "producer-bridge" / "ProducerBridge"
    assert list(results.glob("*/manifest.json"))
    assert list(started_in.iterdir()) == []  # nothing written where it was started
