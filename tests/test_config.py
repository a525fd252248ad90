"""Configuration: lookup order, environment overrides, every error at once, rendering."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr

import bridge.config.loading
from bridge.config import (
    BUILTIN_MODELS,
    DEFAULT_API_URL,
    ENV_API_KEY,
    ENV_API_URL,
    ENV_CONFIG,
    Config,
    LoadedConfig,
    check_report,
    load_config,
    render_toml,
)
from bridge.config.connections import DEFAULT_USAGE_URL
from bridge.errors import ConfigError, redact

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "bridge.example.toml"
SECRET = "sk-test-0123456789abcdef"


@pytest.fixture(autouse=True)
def no_user_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Point the user's config file into tmp_path (absent unless a test writes it)."""
    user_file = tmp_path / "user-dir" / "bridge.toml"
    monkeypatch.setattr(bridge.config.loading, "default_config_path", lambda: user_file)
    return user_file


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(path: Path | None, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path, env={} if env is None else env)
    return info.value


def messages(error: ConfigError) -> dict[str, str]:
    return {issue.field: issue.message for issue in error.issues}


def dotted_fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    names: set[str] = set()
    for name, info in model.model_fields.items():
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            names |= dotted_fields(ann, f"{prefix}{name}.")
        else:
            names.add(prefix + name)
    return names


def dotted_keys(table: dict[str, object], prefix: str = "") -> set[str]:
    names: set[str] = set()
    for name, value in table.items():
        if isinstance(value, dict) and value:
            names |= dotted_keys(value, f"{prefix}{name}.")
        else:
            names.add(prefix + name)
    return names


# ---------------------------------------------------------------- lookup and overrides


def test_defaults_without_any_file() -> None:
    loaded = load_config(env={})
    assert loaded == LoadedConfig(Config(), None, ())
    assert loaded.config.api.url == DEFAULT_API_URL
    assert loaded.config.api.key.get_secret_value() == ""
    assert loaded.config.models.default == "FUZZ-2.0 Pro"
    assert loaded.config.emulator.faults.endpoints == []


def test_config_path_beats_env_var_beats_user_dir(tmp_path: Path, no_user_file: Path) -> None:
    given = write(tmp_path / "given.toml", "[output]\nformat = 'mp3'\n")
    named = write(tmp_path / "named.toml", "[output]\nformat = 'wav'\n")
    write(no_user_file, "[output]\nstems = true\n")
    env = {ENV_CONFIG: str(named)}

    first = load_config(given, env=env)
    assert (first.source, first.config.output.format) == (given, "mp3")
    second = load_config(None, env=env)
    assert (second.source, second.config.output.format) == (named, "wav")
    third = load_config(None, env={})
    assert (third.source, third.config.output.stems) == (no_user_file, True)


def test_empty_env_var_falls_through_to_user_dir(no_user_file: Path) -> None:
    write(no_user_file, "")
    assert load_config(None, env={ENV_CONFIG: ""}).source == no_user_file


@pytest.mark.parametrize("how", ["path", "env"])
def test_missing_explicit_file_is_an_error_naming_it(tmp_path: Path, how: str) -> None:
    missing = tmp_path / "nowhere.toml"
    if how == "path":
        error = errors_of(missing)
        assert error.fields == ("--config",)
    else:
        error = errors_of(None, {ENV_CONFIG: str(missing)})
        assert error.fields == (ENV_CONFIG,)
    assert str(missing) in str(error)


def test_env_key_and_url_override_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "b.toml", '[api]\nurl = "http://file:1"\nkey = "from-file-key"\n')
    env = {ENV_API_KEY: SECRET, ENV_API_URL: "http://127.0.0.1:9000/"}
    loaded = load_config(path, env=env)
    assert loaded.config.api.key.get_secret_value() == SECRET
    assert loaded.config.api.url == "http://127.0.0.1:9000"
    assert set(loaded.overrides) == {ENV_API_KEY, ENV_API_URL}
    assert SECRET not in redact(f"Authorization: Bearer {SECRET}")


def test_empty_env_values_do_not_override(tmp_path: Path) -> None:
    path = write(tmp_path / "b.toml", '[api]\nurl = "http://file:1"\n')
    loaded = load_config(path, env={ENV_API_KEY: "", ENV_API_URL: ""})
    assert loaded.config.api.url == "http://file:1"
    assert loaded.overrides == ()


def test_bad_env_url_names_the_variable(tmp_path: Path) -> None:
    error = errors_of(None, {ENV_API_URL: "ftp://example.org"})
    assert error.fields == (ENV_API_URL,)
    assert "http://" in error.issues[0].message


# The chosen provider's key, from least to most specific: api.key in the file, then
# PRODUCER_API_KEY, then its own table, then its own variable.
KEY_PRECEDENCE = [
    ({"general": "file-general"}, {}, "file-general"),
    ({"general": "file-general"}, {ENV_API_KEY: "env-general"}, "env-general"),
    ({"general": "file-general", "own": "file-own"}, {ENV_API_KEY: "env-general"}, "file-own"),
    ({"own": "file-own"}, {ENV_API_KEY: "env-general", "PRODUCER_API_KEY_ACEDATA": "env-own"},
     "env-own"),
]  # fmt: skip


@pytest.mark.parametrize(("file", "env", "expected"), KEY_PRECEDENCE)
def test_the_chosen_providers_key_its_own_setting_first_the_environment_before_the_file(
    tmp_path: Path, file: dict[str, str], env: dict[str, str], expected: str
) -> None:
    text = '[api]\nprovider = "acedata"\n'
    text += f'key = "{file["general"]}"\n' if "general" in file else ""
    text += f'[api.providers.acedata]\nkey = "{file["own"]}"\n' if "own" in file else ""
    api = load_config(write(tmp_path / "b.toml", text), env=env).config.api
    assert api.key.get_secret_value() == expected
    assert api.connection("acedata").key.get_secret_value() == expected
    # api.key is the chosen provider's only: never the other one's.
    assert api.connection("mountsea").key.get_secret_value() == ""


def test_another_provider_is_reached_with_its_own_table_or_its_defaults(tmp_path: Path) -> None:
    text = (
        '[api]\nprovider = "acedata"\nurl = "http://general:1"\nkey = "general-key"\n'
        'usage_url = "http://usage:1"\n'
        '[api.providers.mountsea]\nkey = "mountsea-key"\n'
    )
    env = {"PRODUCER_API_URL_MOUNTSEA": "http://mountsea:2/"}
    loaded = load_config(write(tmp_path / "b.toml", text), env=env)
    api = loaded.config.api
    mountsea = api.connection("mountsea")
    assert (mountsea.url, mountsea.usage_url) == ("http://mountsea:2", DEFAULT_USAGE_URL)
    assert mountsea.key.get_secret_value() == "mountsea-key"
    assert (api.connection("acedata").url, api.url) == ("http://general:1", "http://general:1")
    assert loaded.overrides == ("PRODUCER_API_URL_MOUNTSEA",)
    report = check_report(loaded)
    assert re.search(r"other provider:\s+mountsea at http://mountsea:2, key set$", report, re.M)
    defaults = Config().api
    assert defaults.connection("acedata").url == "https://api.acedata.cloud"
    assert defaults.connection("mountsea").url == DEFAULT_API_URL
    assert "mountsea-key" not in redact("Bearer mountsea-key")


def test_a_bad_url_of_a_providers_own_table_is_named_once(tmp_path: Path) -> None:
    text = '[api]\nprovider = "acedata"\n[api.providers.acedata]\nurl = "ftp://x"\n'
    error = errors_of(write(tmp_path / "b.toml", text))
    assert error.fields == ("api.providers.acedata.url",)
    by_env = errors_of(None, {"PRODUCER_API_URL_MOUNTSEA": "nowhere"})
    assert by_env.fields == ("PRODUCER_API_URL_MOUNTSEA",)


# ---------------------------------------------------------------- errors


def test_every_error_in_one_file_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path / "b.toml",
        """
[api]
read_timeout = -1
max_attempts = 0
[polling]
backoff = 0.5
[output]
format = "flac"
[models]
extra = ["FUZZ-9", ""]
[emulator]
sample_rate = 1000
[emulator.faults]
rate_429 = 2.0
endpoints = ["tasks", "bogus"]
""",
    )
    error = errors_of(path)
    assert set(error.fields) == {
        "api.read_timeout",
        "api.max_attempts",
        "polling.backoff",
        "output.format",
        "models.extra[1]",
        "emulator.sample_rate",
        "emulator.faults.rate_429",
        "emulator.faults.endpoints[1]",
    }
    found = messages(error)
    assert found["api.read_timeout"] == "must be greater than 0 (got -1)"
    assert found["output.format"] == "must be one of wav, mp3 (got 'flac')"
    assert "audios" in found["emulator.faults.endpoints[1]"]


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("api", "max_attempts", "25", "must be between 1 and 20 (got 25)"),
        ("api", "max_connections", "0", "must be between 1 and 100 (got 0)"),
        ("staging", "port", "70000", "must be between 0 and 65535 (got 70000)"),
        ("emulator", "sample_rate", "200000", "must be between 8000 and 192000 (got 200000)"),
        ("emulator.faults", "rate_drop", "1.5", "must be between 0 and 1 (got 1.5)"),
        ("polling", "backoff", "0.9", "must be at least 1 (got 0.9)"),
        ("emulator", "task_seconds", "-0.1", "must be at least 0 (got -0.1)"),
        ("api", "connect_timeout", "0", "must be greater than 0 (got 0)"),
    ],
)
def test_out_of_range_names_the_allowed_range(
    tmp_path: Path, section: str, key: str, value: str, expected: str
) -> None:
    path = write(tmp_path / "b.toml", f"[{section}]\n{key} = {value}\n")
    assert messages(errors_of(path)) == {f"{section}.{key}": expected}


@pytest.mark.parametrize(
    ("line", "field", "expected"),
    [
        ('read_timeout = "abc"', "api.read_timeout", "must be a number (got 'abc')"),
        ('max_attempts = "6"', "api.max_attempts", "must be a whole number (got '6')"),
        ("max_attempts = 6.5", "api.max_attempts", "must be a whole number (got 6.5)"),
        ("url = 5", "api.url", "must be a string in quotes (got 5)"),
        ("read_timeout = nan", "api.read_timeout", "must be a finite number (got nan)"),
    ],
)
def test_wrong_type(tmp_path: Path, line: str, field: str, expected: str) -> None:
    path = write(tmp_path / "b.toml", f"[api]\n{line}\n")
    assert messages(errors_of(path)) == {field: expected}


def test_wrong_type_for_a_bool_and_a_section(tmp_path: Path) -> None:
    path = write(tmp_path / "b.toml", "polling = 3\n[output]\nstems = 1\n")
    found = messages(errors_of(path))
    assert found == {
        "polling": "must be a table (a [section]) (got 3)",
        "output.stems": "must be true or false (got 1)",
    }


def test_did_you_mean_for_a_misspelt_key_and_section(tmp_path: Path) -> None:
    path = write(
        tmp_path / "b.toml",
        "[api]\nreed_timeout = 5\n[pollng]\ninterval = 1\n[emulator.fautls]\nrate_429 = 0.1\n",
    )
    assert messages(errors_of(path)) == {
        "api.reed_timeout": "unknown key (did you mean 'read_timeout'?)",
        "pollng": "unknown section (did you mean 'polling'?)",
        "emulator.fautls": "unknown section (did you mean 'faults'?)",
    }


def test_unknown_key_without_close_match_lists_the_valid_keys(tmp_path: Path) -> None:
    path = write(tmp_path / "b.toml", "[output]\ncolour = 'red'\n")
    message = messages(errors_of(path))["output.colour"]
    assert message == (
        "unknown key; valid keys here: dir, format, stems, results_folder, sample_format, "
        "allowed_roots"
    )


def test_misspelt_key_never_echoes_its_value(tmp_path: Path) -> None:
    path = write(tmp_path / "b.toml", f'[api]\nkye = "{SECRET}"\n')
    error = errors_of(path)
    assert messages(error) == {"api.kye": "unknown key (did you mean 'key'?)"}
    assert SECRET not in str(error)
    assert error.__cause__ is None
    assert error.__suppress_context__


def test_cross_field_rules(tmp_path: Path) -> None:
    path = write(
        tmp_path / "b.toml",
        """
[api]
retry_base = 5.0
retry_cap = 1.0
[polling]
interval = 10.0
max_interval = 5.0
[models]
default = "FUZZ-2.0 pro"
[output]
format = "ogg"
""",
    )
    found = messages(errors_of(path))
    assert set(found) == {
        "api.retry_cap",
        "polling.max_interval",
        "models.default",
        "output.format",
    }
    assert "retry_base" in found["api.retry_cap"]
    assert "interval" in found["polling.max_interval"]
    assert "did you mean 'FUZZ-2.0 Pro'?" in found["models.default"]
    assert "models.extra" in found["models.default"]


def test_models_extra_extends_the_known_table(tmp_path: Path) -> None:
    path = write(
        tmp_path / "b.toml",
        '[models]\ndefault = "FUZZ-3.0"\nextra = ["FUZZ-3.0", "FUZZ-2.0"]\n',
    )
    models = load_config(path, env={}).config.models
    assert models.default == "FUZZ-3.0"
    assert models.known() == (*BUILTIN_MODELS, "FUZZ-3.0")


def test_toml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "b.toml", '[api]\nurl = "http://x"\n\nread_timeout = \n')
    error = errors_of(path)
    assert error.fields == (str(path),)
    assert "line 4" in str(error)


# ---------------------------------------------------------------- rendering


def test_render_toml_hides_the_key_and_round_trips(tmp_path: Path) -> None:
    path = write(
        tmp_path / "b.toml",
        '[staging]\npublic_base_url = "https://tunnel.example/x"\n'
        '[output]\ndir = "out \\"quoted\\" \\\\ tab\\t end"\n'
        '[models]\nextra = ["FUZZ-3.0"]\n'
        '[emulator.faults]\nendpoints = ["tasks", "download-video"]\nrate_5xx = 0.125\n',
    )
    loaded = load_config(path, env={ENV_API_KEY: SECRET})
    text = render_toml(loaded)
    assert SECRET not in text
    assert 'key = "********"' in text
    assert text.startswith(f"# producer-bridge configuration, from {path}")
    assert ENV_API_KEY in text.splitlines()[1]

    again = Config.model_validate(tomllib.loads(text))
    assert again.api.key.get_secret_value() == "********"
    api = again.api.model_copy(update={"key": SecretStr(SECRET)})
    assert again.model_copy(update={"api": api}) == loaded.config


def test_render_toml_of_defaults() -> None:
    text = render_toml(load_config(env={}))
    assert "built-in defaults" in text.splitlines()[0]
    assert 'key = ""' in text
    assert Config.model_validate(tomllib.loads(text)) == Config()


def test_check_report(tmp_path: Path) -> None:
    path = write(tmp_path / "b.toml", '[staging]\nport = 8123\nhost = "0.0.0.0"\n')
    without = check_report(load_config(path, env={}))
    assert str(path) in without
    assert "not set: the built-in emulator will be used" in without
    assert "0.0.0.0:8123" in without
    assert DEFAULT_API_URL in without
    assert "FUZZ-2.0 Pro" in without
    with_key = check_report(load_config(path, env={ENV_API_KEY: SECRET}))
    assert SECRET not in with_key
    assert re.search(r"API key:\s+set$", with_key, re.MULTILINE)


# ---------------------------------------------------------------- the example file


def test_example_file_loads_with_default_values() -> None:
    loaded = load_config(EXAMPLE, env={})
    assert loaded.config == Config()


def test_example_file_documents_every_key() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert dotted_keys(tomllib.loads(text)) == dotted_fields(Config)
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if re.match(r"\s*[A-Za-z0-9_-]+\s*=", line):
            above = lines[number - 1].lstrip() if number else ""
            assert "#" in line or above.startswith("#"), f"line {number + 1} has no comment"


# ---------------------------------------------------------------- the daemon's sections


def test_a_bad_midi_map_entry_is_named_with_the_other_problems(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bridge.toml",
        '[osc]\nport = "9110"\n[midi]\nmap = { "cc 300" = "replace", "note 36" = "set x 0..1" }\n',
    )
    found = messages(errors_of(path))
    assert set(found) == {"osc.port", 'midi.map."cc 300"', 'midi.map."note 36"'}
    assert "0..127" in found['midi.map."cc 300"']


def test_a_midi_map_may_only_trigger_actions_aliases_and_presets(tmp_path: Path) -> None:
    text = (
        '[midi]\nmap = { "note 36" = "variaton", "note 37" = "disco", "note 38" = "replace" }\n'
        '[trigger.presets.disco]\naction = "swap_music_sound"\nprompt = "classic disco"\n'
    )
    found = messages(errors_of(write(tmp_path / "bridge.toml", text)))
    assert found == {
        "midi.map": "'variaton' is no action, alias or preset (did you mean 'variation'?); "
        "add it to [trigger.presets]"
    }


def test_presets_and_the_midi_map_show_as_toml_that_reads_back(tmp_path: Path) -> None:
    text = (
        '[midi]\nmap = { "note 36" = "disco" }\n'
        '[trigger.presets.disco]\naction = "swap_music_sound"\nstrength = 0.9\n'
        "params = { seed = 7 }\n"
    )
    loaded = load_config(write(tmp_path / "bridge.toml", text), env={})
    shown = tomllib.loads(render_toml(loaded))
    assert shown["midi"]["map"] == {"note 36": "disco"}
    assert shown["trigger"]["presets"]["disco"]["params"] == {"seed": 7}
    assert load_config(
        write(tmp_path / "again.toml", render_toml(loaded)), env={}
    ) == loaded.__class__(loaded.config, tmp_path / "again.toml", ())


def test_endpoints_must_be_host_and_port(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bridge.toml", '[osc]\nreply_to = "localhost"\n[reaper]\nosc = ":8000"\n'
    )
    found = messages(errors_of(path))
    assert set(found) == {"osc.reply_to", "reaper.osc"}
    assert 'must be "host:port"' in found["osc.reply_to"]


def test_s3_staging_needs_a_bucket_and_never_shows_its_secret(tmp_path: Path) -> None:
    found = messages(errors_of(write(tmp_path / "a.toml", '[staging]\nkind = "s3"\n')))
    assert found == {"staging.kind": 'is "s3": set staging.s3.bucket too'}
    text = (
        '[staging]\nkind = "s3"\n'
        '[staging.s3]\nbucket = "clips"\nsecret_access_key = "s3cr3t-value"\n'
    )
    loaded = load_config(write(tmp_path / "b.toml", text), env={})
    assert "s3cr3t-value" not in render_toml(loaded)
    assert "s3cr3t-value" not in check_report(loaded)
    assert "S3 bucket clips at AWS" in check_report(loaded)
    assert redact("key s3cr3t-value leaked") == "key ******** leaked"


def test_audio_settings_are_read_and_bad_ones_named(tmp_path: Path) -> None:
    good = write(tmp_path / "good.toml", "[audio]\ncontext = 30\ncrossfade = 0\nsplice = false\n")
    audio = load_config(good, env={}).config.audio
    assert (audio.context_seconds(), audio.crossfade, audio.splice) == (30.0, 0.0, False)
    assert load_config(env={}).config.audio.context_seconds() is None  # "clip": all that fits
    bad = write(tmp_path / "bad.toml", '[audio]\ncontext = "song"\ncrossfade = 2\n')
    found = messages(errors_of(bad))
    assert set(found) == {"audio.context", "audio.crossfade"}
    assert found["audio.context"].startswith('must be "clip" or seconds, at least 1')
