"""The REAPER scripts' library and packaging: the hand-written JSON module against Python's
json, the ReaScript names the fake implements against the documented list, globals, and
the ReaPack headers (the index is built from them: tests/test_reaper_install.py)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import need_tool
from tests.reaper_fixtures import LIBRARY, LUA_TESTS, RUNNER, SCRIPTS, lua, run_lua

ROUNDTRIP = LUA_TESTS / "json_roundtrip.lua"
LUA_FILES = sorted(SCRIPTS.rglob("*.lua"))
ACTION_SCRIPTS = sorted(SCRIPTS.glob("ProducerBridge - *.lua"))
LIBRARY_FILES = sorted(LIBRARY.glob("*.lua"))
# What REAPER's Lua gives a script besides `reaper` and `gfx`, that the scripts may read.
STANDARD = {
    "assert", "debug", "dofile", "error", "getmetatable", "io", "ipairs", "math", "next",
    "os", "pairs", "pcall", "select", "setmetatable", "string", "table", "tonumber",
    "tostring", "type", "utf8",
}  # fmt: skip


def test_encoding_gives_json_that_python_reads_back_to_the_same_values(tmp_path: Path) -> None:
    first, *errors = run_lua([str(ROUNDTRIP), "encode"], tmp_path).splitlines()
    data = json.loads(first)
    assert list(json.loads(first)) == sorted(data)  # keys sorted: golden files are stable
    assert data["integer"] == 48000
    assert isinstance(data["integer"], int)
    assert data["float_integral"] == 30
    assert '"float_integral":30,' in first  # no ".0"
    assert (data["tenth"], data["third"], data["negative"]) == (0.1, 1 / 3, -2.5)
    assert (data["tiny"], data["huge"]) == (5e-324, 1.7976931348623157e308)
    assert data["big_integer"] == 2**63 - 1
    assert data["text"] == 'quote " backslash \\ slash / tab \t newline \n bell \a del \x7f é 🎵'
    assert (data["empty_array"], data["empty_object"], data["null"]) == ([], {}, None)
    assert (data["yes"], data["no"], data["nested"]) == (True, False, [[1, 2], {"a": "b"}])
    assert errors == [
        "json: -nan has no JSON form",
        "json: inf has no JSON form",
        "json: -inf has no JSON form",
        "json: an empty table is ambiguous: use json.array{} or json.object{}",
        "json: string is not valid UTF-8 (byte 1)",
    ]


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",))),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=40, deadline=None)
@given(value=JSON_VALUES, ascii_only=st.booleans())
def test_decoding_then_encoding_keeps_every_value(
    tmp_path_factory: pytest.TempPathFactory, value: Any, ascii_only: bool
) -> None:
    folder = tmp_path_factory.mktemp("json")
    source = folder / "in.json"
    source.write_text(json.dumps(value, ensure_ascii=ascii_only), encoding="utf-8")
    again = json.loads(run_lua([str(ROUNDTRIP), "decode", str(source)], folder))
    assert again == value


def test_bad_json_is_refused_with_its_position(tmp_path: Path) -> None:
    bad = [
        '{"a":}',
        "[1,]",
        "01",
        '"\\ud800"',
        '{"a":1} x',
        '"abc',
        "nul",
        "1.",
        '"\\x"',
        "[" * 300,
    ]
    source = tmp_path / "bad.txt"
    source.write_text("\n".join(bad) + "\n", encoding="utf-8")
    lines = run_lua([str(ROUNDTRIP), "errors", str(source)], tmp_path).splitlines()
    assert lines == [
        "json: unexpected character at position 6",
        "json: unexpected character at position 4",
        "json: leading zero at position 1",
        "json: lone high surrogate at position 2",
        "json: trailing characters at position 9",
        "json: unterminated string at position 1",
        "json: unexpected character at position 1",
        "json: malformed number at position 1",
        "json: bad escape at position 2",
        "json: nesting too deep at position 201",
    ]


def documented_names() -> set[str]:
    text = (LUA_TESTS / "reascript_api_names.txt").read_text(encoding="utf-8")
    return {line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")}


def test_the_fake_implements_only_documented_reascript_functions(tmp_path: Path) -> None:
    implemented = set(json.loads(run_lua([str(RUNNER), "--api"], tmp_path)))
    assert implemented <= documented_names()
    assert implemented == documented_names()  # and the list names nothing the fake lacks


def test_the_scripts_call_only_what_the_fake_implements() -> None:
    used: set[str] = set()
    for path in LUA_FILES:
        text = re.sub(r"--.*", "", path.read_text(encoding="utf-8"))  # code, not comments
        used |= set(re.findall(r"\breaper\.([A-Za-z_]\w*)", text))
        used |= {f"gfx.{name}" for name in re.findall(r"\bgfx\.([A-Za-z_]\w*)\s*\(", text)}
    assert used <= documented_names(), used - documented_names()
    assert "UpdateArrangeView" not in used  # the real name is UpdateArrange


@pytest.mark.parametrize("path", LUA_FILES, ids=lambda p: p.name)
def test_every_lua_file_is_small_and_uses_no_globals_but_reaper_and_gfx(path: Path) -> None:
    luac = need_tool("luac5.4", "lua5.4")
    assert len(path.read_text(encoding="utf-8").splitlines()) < 400
    listing = subprocess.run(
        [luac, "-l", "-l", "-p", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert "SETTABUP" not in listing or not re.search(r"SETTABUP.*; _ENV ", listing)
    read = set(re.findall(r'GETTABUP.*; _ENV "(\w+)"', listing))
    assert read <= STANDARD | {"reaper", "gfx"}, read - STANDARD


def header(path: Path) -> dict[str, str]:
    tags: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"-- @(\w+)\s*(.*)", line)
        if match:
            tags[match[1]] = match[2]
        elif not line.startswith("--"):
            break
    return tags


def provided() -> dict[str, str]:
    """What the index package's @provides lists: file -> option."""
    text = (SCRIPTS / "ProducerBridge - Settings.lua").read_text(encoding="utf-8")
    block = text.split("-- @provides\n", 1)[1].split("\n\n", 1)[0]
    return {m[2]: m[1] for m in re.finditer(r"^--\s+\[(\w+)\] (.+)$", block, re.M)}


@pytest.mark.parametrize("path", ACTION_SCRIPTS, ids=lambda p: p.name)
def test_every_script_has_its_reapack_header(path: Path) -> None:
    tags = header(path)
    assert tags["description"].startswith("Producer Bridge: ")
    assert tags["version"] == "0.1.0"
    assert tags["author"] == "producer-bridge"
    assert "about" in tags
    # One package provides them all: the others are not packages of their own.
    assert ("noindex" in tags) == (path.name != "ProducerBridge - Settings.lua")


def test_the_package_provides_every_script_and_library_file() -> None:
    files = provided()
    scripts = {p.name for p in ACTION_SCRIPTS if p.name != "ProducerBridge - Settings.lua"}
    libraries = {f"ProducerBridge/{p.name}" for p in LIBRARY_FILES}
    assert {name for name, option in files.items() if option == "main"} == scripts
    assert {name for name, option in files.items() if option == "nomain"} == libraries


def test_the_runner_reports_a_script_that_calls_an_unimplemented_function(tmp_path: Path) -> None:
    bad = tmp_path / "bad.lua"
    bad.write_text("reaper.Main_OnCommand(40047, 0)\n", encoding="utf-8")
    scenario = tmp_path / "scenario.json"
    scenario.write_text("{}", encoding="utf-8")
    out = subprocess.run(
        [lua(), str(RUNNER), str(scenario), str(bad)], capture_output=True, text=True, check=True
    ).stdout
    assert "reaper.Main_OnCommand is not implemented" in json.loads(out)["error"]
