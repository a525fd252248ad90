"""Our Live remote script, installed into a temporary User Library and run under a fake
`Live` built from the Live Object Model documentation, driven by the daemon over loopback."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from jsonschema import Draft202012Validator

from bridge.ableton.install import SOURCE, default_target, install_remote_script
from bridge.ableton.script_link import RemoteScriptLink
from bridge.ableton.window import live_window
from bridge.cli.doctor import ask_live
from bridge.config import AbletonSettings
from bridge.doctor import OK, WARN, Check, check_ableton
from bridge.emulator.server import EmulatorServer
from bridge.schemas import generated
from tests.conftest import _missing
from tests.daemon_harness import OscListener, daemon_config, free_udp_port, running_daemon
from tests.live_set import FAKE, arrangement_set, load_live, running_script

NAMES = FAKE / "live_api_names.txt"
# What the fake's classes stand for in the LOM.
LOM_NAMES = {"SongView": "Song.View", "_Application": "Application", "CInstance": "c_instance"}


@pytest.fixture
def live(tmp_path: Path) -> tuple[ModuleType, ModuleType]:
    return load_live(tmp_path / "User Library" / "Remote Scripts")


def listed_names() -> set[str]:
    lines = NAMES.read_text(encoding="utf-8").splitlines()
    return {line.split()[0] for line in lines if line.strip() and not line.startswith("#")}


def offered_names(live: ModuleType) -> set[str]:
    """Every public name of every object of the fake, as Class.name."""
    song = arrangement_set(live, Path("/x.wav"))
    objects = [
        song,
        song.view,
        song.tracks[0],
        song.tracks[0].mixer_device,
        song.tracks[0].mixer_device.song_tempo,
        song.view.detail_clip,
        song.view.detail_clip.warp_markers[0],
        live.Application.get_application(),
        live._open(song),
    ]
    names = {f"Application.{n}" for n in vars(live.Application)}
    names |= {f"Clip.{n}" for n in vars(live.Clip)}
    names |= {f"MidiMap.{n}" for n in vars(live.MidiMap)}
    for thing in objects:
        owner = LOM_NAMES.get(type(thing).__name__, type(thing).__name__)
        public = {n for n in (*vars(thing), *dir(type(thing))) if not n.startswith("_")}
        names |= {f"{owner}.{n}" for n in public if n not in ("SETTABLE",)}
    return names


def test_the_fake_offers_exactly_the_names_listed_with_their_sources(
    live: tuple[ModuleType, ModuleType],
) -> None:
    assert offered_names(live[0]) == listed_names()


def test_the_script_uses_nothing_of_lives_that_the_fake_does_not_offer() -> None:
    # Live.Application.get_application(), Live.Clip.WarpMarker: the module's namespaces
    offered = {part for name in listed_names() for part in name.split(".")}
    # the standard library's names the script calls (socket, json, contextlib, list, dict)
    stdlib = {"append", "get", "update", "bind", "setblocking", "recvfrom", "sendto"}
    stdlib |= {"getsockname", "decode", "encode", "join", "suppress", "dumps", "loads"}
    stdlib |= {"socket", "index", "items", "AF_INET", "SOCK_DGRAM", "close"}
    used: set[str] = set()
    own: set[str] = set()  # what the script defines itself
    for path in SOURCE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        used |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        own |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    foreign = {name for name in used if not name.startswith("_")} - own - stdlib - offered
    assert foreign == set(), "the script uses names the fake Live does not offer"
    imports = set()
    for path in SOURCE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imports |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imports.add(node.module.split(".")[0])
    assert imports <= {"Live", "contextlib", "json", "socket", "typing", "collections"}


def test_the_installed_script_compiles_with_python_3_11(tmp_path: Path) -> None:
    python = shutil.which("python3.11")
    if python is None:
        _missing("python3.11", "python3.11")
    assert python is not None
    installed = install_remote_script(tmp_path / "Remote Scripts")
    done = subprocess.run(
        [python, "-m", "compileall", "-q", str(installed)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (installed / "__init__.py").read_text() == (SOURCE / "__init__.py").read_text()


def test_install_ableton_copies_the_script_and_says_the_one_manual_step(tmp_path: Path) -> None:
    target = tmp_path / "Remote Scripts"
    (target / "ProducerBridge").mkdir(parents=True)
    (target / "ProducerBridge" / "stale.py").write_text("old = True\n")
    done = subprocess.run(
        [*_bridge(), "install", "ableton", "--target", str(target)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "Control Surface: choose ProducerBridge" in done.stdout
    installed = sorted(p.name for p in (target / "ProducerBridge").iterdir())
    assert installed == sorted(p.name for p in SOURCE.glob("*.py"))


def test_the_default_remote_scripts_folder_follows_the_user_library_of_each_system() -> None:
    home = Path("/home/someone")
    mac = default_target("darwin", home)
    assert mac == home / "Music" / "Ableton" / "User Library" / "Remote Scripts"
    windows = default_target("win32", home)
    assert windows == home / "Documents" / "Ableton" / "User Library" / "Remote Scripts"
    assert default_target("linux", home) == mac


async def test_the_daemon_reads_the_clip_in_view_through_the_script(
    live: tuple[ModuleType, ModuleType], tmp_path: Path
) -> None:
    song = arrangement_set(live[0], tmp_path / "vox.wav")
    with running_script(*live, song) as (_, port):
        async with RemoteScriptLink(port, timeout=2.0) as link:
            assert (await link.hello()).live == "12.1.5"
            snapshot = await link.read()
            bad = await link.ask("nonsense")
    window = live_window(snapshot)
    assert (window.start_beat, window.timeline_start, window.timeline_end) == (80.0, 40.0, 48.0)
    assert window.source_start == pytest.approx(9.6)
    assert bad["ok"] is False
    assert "unknown question" in bad["error"]


async def test_a_daemon_that_is_not_there_costs_live_nothing(
    live: tuple[ModuleType, ModuleType], tmp_path: Path
) -> None:
    song = arrangement_set(live[0], tmp_path / "vox.wav")
    with running_script(*live, song) as (surface, port):
        async with RemoteScriptLink(port, timeout=2.0) as link:
            await link.ask("read")  # the asker goes away before it hears the answer...
        async with RemoteScriptLink(port, timeout=2.0) as link:
            assert (await link.hello()).script == 1  # ...and Live answers the next one
        surface.update_display()  # nothing waiting: returns at once


def test_the_doctor_says_which_live_answered_or_what_to_install(
    live: tuple[ModuleType, ModuleType], tmp_path: Path
) -> None:
    song = arrangement_set(live[0], tmp_path / "vox.wav")
    installed = tmp_path / "User Library" / "Remote Scripts"
    with running_script(*live, song, (12, 0, 5)) as (_, port):
        settings = AbletonSettings(enabled=True, script_port=port, timeout=2.0)
        line = check_ableton(settings, installed, ask_live)
    assert line == Check(
        "ableton", OK, f"Live 12.0.5 answered through ProducerBridge on UDP 127.0.0.1:{port}"
    )
    silent = AbletonSettings(enabled=True, script_port=free_udp_port(), timeout=0.2)
    missing = check_ableton(silent, tmp_path / "elsewhere", ask_live)
    assert missing.status == WARN
    assert "producer-bridge install ableton" in missing.fix
    assert check_ableton(AbletonSettings(), installed, ask_live).detail.startswith("off")


def test_a_trigger_uploads_what_plays_under_the_brace_and_the_result_lands_at_bar_21(
    live: tuple[ModuleType, ModuleType],
    jobs_config: Path,
    tmp_path: Path,
    port: int,
    listener: OscListener,
    emulator: EmulatorServer,
    tone: Callable[..., Path],
) -> None:
    source = tone(40.0, name="vox.wav")
    song = arrangement_set(live[0], source)
    done = run_trigger(live, song, (12, 1, 5), jobs_config, tmp_path, port, listener, emulator)
    manifest = json.loads(Path(done[1]).read_text())
    # beats 80-96 at 120 bpm are 40-48 s; the clip plays its file at 0.6 s a beat from bar
    # 17, so seconds 9.6-19.2 of the file are what is heard there
    assert manifest["selection"] == {"start": 40.0, "end": 48.0}
    assert manifest["clip"]["takeOffset"] == pytest.approx(9.6)
    assert manifest["clip"]["playrate"] == pytest.approx(1.2)
    assert manifest["clip"]["length"] == pytest.approx(8.0)
    assert done[3:] == ("arrangement", "1 clip(s) on new tracks")
    vox, new = song.tracks
    assert (vox.name, new.name) == ("Vox", "replace_music")  # named after the action
    (placed,) = new.arrangement_clips
    assert placed.start_time == 80.0  # bar 21
    result = next(f for f in manifest["files"] if f["kind"] == "result")
    assert placed.file_path == str(Path(manifest["project"]["folder"]) / result["path"])
    assert placed.warping is True
    markers = [(m.beat_time, m.sample_time) for m in placed.warp_markers]
    assert markers == [(0.0, 0.0), (16.0, pytest.approx(9.6))]
    assert placed._inside_undo_step  # one undo step for the whole placing
    assert song._undo_steps == 1
    record = json.loads((Path(done[1]).parent / "live.json").read_text())
    Draft202012Validator(generated()["live.schema.json"]).validate(record)
    assert record["placed"] == "arrangement"
    assert record["clips"] == [{"path": placed.file_path, "track": "replace_music", "beat": 80.0}]


def test_a_live_11_keeps_the_results_in_their_folder_and_says_so(
    live: tuple[ModuleType, ModuleType],
    jobs_config: Path,
    tmp_path: Path,
    port: int,
    listener: OscListener,
    emulator: EmulatorServer,
    tone: Callable[..., Path],
) -> None:
    song = arrangement_set(live[0], tone(40.0, name="vox.wav"))
    done = run_trigger(live, song, (11, 3, 25), jobs_config, tmp_path, port, listener, emulator)
    assert done[3] == "folder"
    assert "Live 11.3.25 cannot put audio on the timeline" in done[4]
    assert str(Path(done[1]).parent) in done[4]
    assert [track.name for track in song.tracks] == ["Vox"]
    record = json.loads((Path(done[1]).parent / "live.json").read_text())
    assert (record["placed"], record["message"]) == ("folder", done[4])


def test_a_pad_of_the_controller_chosen_in_live_starts_the_action_it_is_mapped_to(
    live: tuple[ModuleType, ModuleType],
    jobs_config: Path,
    tmp_path: Path,
    port: int,
    listener: OscListener,
    emulator: EmulatorServer,
    tone: Callable[..., Path],
) -> None:
    fake, _ = live
    song = arrangement_set(fake, tone(40.0, name="vox.wav"))
    with running_script(*live, song) as (surface, script_port):
        ableton = f"enabled = true\nscript_port = {script_port}\ntimeout = 2.0"
        osc = f'port = {port}\nreply_to = "127.0.0.1:{listener.port}"'
        midi = 'map = { "note 36 ch 10" = "replace_music" }'
        config = daemon_config(jobs_config, tmp_path, port, osc=osc, ableton=ableton, midi=midi)
        with running_daemon(config, emulator.url, port):
            listener.send(port, "/bridge/context/project", str(tmp_path / "project"))
            listener.send(port, "/bridge/context/prompt", "sparse piano")
            surface.build_midi_map(1)  # Live asks for the surface's map once it has an Input
            pad = (0x99, 36, 100)  # note-on, channel 10
            assert fake._forwarded(pad)
            surface.receive_midi(pad)
            job_id, action = listener.wait_for("/bridge/job/accepted")
            done = listener.wait_for("/bridge/job/done", lambda a: a[0] == job_id)
    assert action == "replace_music"
    assert done[3] == "arrangement"
    assert [track.name for track in song.tracks] == ["Vox", "replace_music"]


def run_trigger(
    live: tuple[ModuleType, ModuleType],
    song: object,
    version: tuple[int, int, int],
    jobs_config: Path,
    tmp_path: Path,
    port: int,
    listener: OscListener,
    emulator: EmulatorServer,
) -> tuple[object, ...]:
    """Trigger "replace" with Live running `song`; the /bridge/job/done arguments."""
    with running_script(*live, song, version) as (_, script_port):
        ableton = f"enabled = true\nscript_port = {script_port}\ntimeout = 2.0"
        osc = f'port = {port}\nreply_to = "127.0.0.1:{listener.port}"'
        config = daemon_config(jobs_config, tmp_path, port, osc=osc, ableton=ableton)
        with running_daemon(config, emulator.url, port) as daemon:
            listener.send(port, "/bridge/context/project", str(tmp_path / "project"))
            listener.send(port, "/bridge/context/prompt", "sparse piano")
            listener.send(port, "/bridge/trigger", "replace")
            job_id, _ = listener.wait_for("/bridge/job/accepted")
            done = listener.wait_for("/bridge/job/done", lambda a: a[0] == job_id)
        banner = f"Live {'.'.join(map(str, version))} answered"
        assert banner in daemon.out + daemon.err
    return tuple(done)


def _bridge() -> list[str]:
    return [sys.executable, "-m", "bridge"]
