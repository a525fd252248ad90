"""The README stays true to the code: the CI command and the `run` options it documents."""

from __future__ import annotations

import re
from pathlib import Path

from bridge.cli.main import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def setup_commands() -> list[str]:
    section = README.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_the_readme_has_exactly_two_setup_commands_and_ci_runs_the_second() -> None:
    commands = setup_commands()
    assert len(commands) == 2
    assert commands[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_every_run_option_is_documented_in_the_readme() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    run = commands.choices["run"]  # type: ignore[index]
    options = {
        s for a in run._actions for s in a.option_strings if s.startswith("--") and s != "--help"
    }
    documented = set(re.findall(r"`(--[a-z-]+)", README.split("## Running an action", 1)[1]))
    assert options - documented == set()


def test_the_readme_osc_tables_are_the_ones_the_code_serves() -> None:
    from bridge.daemon.osc_api import address_table

    block = README.split("<!-- osc-addresses:", 1)[1].split("<!-- /osc-addresses -->", 1)[0]
    assert block.split("-->\n", 1)[1] == address_table()


def test_every_serve_and_submit_option_is_documented_in_the_readme() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    section = README.split("## The daemon", 1)[1].split("\n## ", 1)[0]
    prose = re.sub(r"```.*?```", "", section, flags=re.S)
    spans = re.findall(r"`([^`]+)`", prose)
    documented = {option for span in spans for option in re.findall(r"--[a-z-]+", span)}
    for name in ("serve", "submit", "midi-learn"):
        command = commands.choices[name]  # type: ignore[index]
        options = {
            s
            for a in command._actions
            for s in a.option_strings
            if s.startswith("--") and s not in ("--help", "--api-url", "--emulator")
        }
        assert options - documented == set(), name
