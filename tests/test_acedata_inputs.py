"""Every action and stems against one acedata twin, through each input a person uses: a real
`serve` daemon over OSC and its drop folder, and `run`. Each result is checked as the
mountsea-fuzz end-to-end tests check theirs (tests/test_serve.py, test_pipeline*.py,
test_cli.py; the README's placement and length tables): where it lands on the timeline in
seconds and samples, its length fitted at the project's rate, a spliced file equal to the
source outside the section it replaces, stems as long as their result, credits null. The
twin is asked which of AceData's actions each job sent, and counts every paid task once."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import numpy as np
import pytest
import soundfile as sf

from bridge.config import EmulatorSettings
from bridge.config.settings import AudioSettings
from bridge.emulator.server import EmulatorServer
from bridge.project import schema
from tests.daemon_harness import OscListener, daemon_config, running_daemon
from tests.test_chaos import PROJECT_RATE
from tests.test_cli import run, written
from tests.test_pipeline_audio import song

CLIP_SECONDS = 6.0  # the clip every edit starts from, at the project's rate
ITEM = 10.0  # where that clip sits on the timeline
CREATED = 3.0  # how long the twin makes a song, and an extension's continuation
FADE = AudioSettings().crossfade  # the spliced file's crossfade at each edge
# The clip is noise of +-0.5 (tests/test_pipeline_audio.py's song): other noise differs from
# it by 1/3 on average, the same noise resampled to the twin's 44.1 kHz and back by far less.
OTHER_NOISE = 0.2
STEMS = ("instrumental", "vocals")  # AceData's vocal and instrumental separation
FULL_SCALE = 1 - 2**-23  # the loudest sample of a 24-bit file, as read back


@dataclass(frozen=True)
class Case:
    """One action: the request's own fields, how AceData names it for an uploaded clip, and
    where its result must land (timeline seconds) and for how long (`exact`, or at least)."""

    action: str
    sent_as: str
    fields: dict[str, Any]
    position: float
    seconds: float
    exact: bool = False
    section: tuple[float, float | None] | None = None  # spliced: clip seconds replaced
    clip: bool = True
    options: tuple[str, ...] = ()  # the same fields as `run` options

    @property
    def stems_only(self) -> bool:
        return self.action == "stems_only"


PROMPT = {"prompts": [{"text": "brass"}]}
CASES = [
    Case("create_music", "generate", {**PROMPT, "selection": {"start": 20.0, "end": 24.0}},
         position=20.0, seconds=CREATED, exact=True, clip=False,
         options=("--prompt", "brass", "--selection", "20:24")),
    Case("replace_music", "upload_replace_section",
         {**PROMPT, "selection": {"start": 12.0, "end": 14.0}},
         position=ITEM, seconds=CLIP_SECONDS, exact=True, section=(2.0, 4.0),
         options=("--prompt", "brass", "--selection", "12:14")),
    Case("extend_music", "upload_extend",
         {**PROMPT, "selection": {"start": 14.0, "end": 14.5}, "params": {"extendDuration": 2.0}},
         position=ITEM, seconds=4.0 + 2.0, section=(4.0, None),
         options=("--prompt", "brass", "--selection", "14:14.5", "--duration", "2")),
    Case("cover_music", "upload_cover", {**PROMPT, "params": {"coverStrength": 0.6}},
         position=ITEM, seconds=CLIP_SECONDS,
         options=("--prompt", "brass", "--cover-strength", "0.6")),
    Case("swap_music_vocals", "swap_vocals", {"prompts": [{"text": "male baritone"}]},
         position=ITEM, seconds=CLIP_SECONDS, options=("--prompt", "male baritone")),
    Case("swap_music_sound", "swap_instrumentals", {"prompts": [{"text": "disco"}]},
         position=ITEM, seconds=CLIP_SECONDS, options=("--prompt", "disco")),
    Case("music_variation", "variation", PROMPT, position=ITEM, seconds=CLIP_SECONDS,
         options=("--prompt", "brass")),
    Case("stems_only", "stems", {}, position=ITEM, seconds=CLIP_SECONDS, exact=True),
]  # fmt: skip
BY_ACTION = {case.action: case for case in CASES}


@pytest.fixture(scope="module")
def twin() -> Iterator[EmulatorServer]:
    """One acedata twin for the module: each test counts what it made from its own start."""
    settings = EmulatorSettings(
        port=0, task_seconds=0.02, create_seconds=CREATED, provider="acedata"
    )
    with EmulatorServer(settings) as server:
        yield server


@dataclass
class Tally:
    """What the twin made while a test ran, and the endpoints it was asked on."""

    twin: EmulatorServer
    before: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.before = self.twin.stats()

    def made(self) -> Counter[str]:
        now = self.twin.stats()["tasks_created"]
        return Counter(now) - Counter(self.before["tasks_created"])

    def endpoints(self) -> set[str]:
        now = Counter(self.twin.stats()["requests"])
        return set(now - Counter(self.before["requests"]))


def request_of(case: Case, clip: Path, project: Path, *, stems: bool) -> dict[str, Any]:
    """The JSON request every input speaks, for `case` on `clip` at ITEM."""
    request: dict[str, Any] = {
        "version": 1,
        "action": case.action,
        "project": {"folder": str(project), "sampleRate": PROJECT_RATE},
        **case.fields,
    }
    if case.clip:
        request["clip"] = {"path": str(clip), "itemPosition": ITEM}
    if stems and not case.stems_only:
        request["options"] = {"stems": True}
    return request


def expected_tasks(cases: list[Case], *, stems: bool) -> Counter[str]:
    """The tasks the twin must have made for `cases`: one create per action, one stems
    split per job with stems (paid, each sent once), one upload per clip and one WAV per
    result."""
    made: Counter[str] = Counter()
    for case in cases:
        made[case.action] += not case.stems_only
        made["download"] += not case.stems_only
        made["stems"] += stems or case.stems_only
        made["upload"] += case.clip
    return +made


def read_audio(path: Path) -> np.ndarray:
    data, _ = sf.read(str(path), dtype="float64", always_2d=True)
    return data


def frames(seconds: float) -> int:
    return round(seconds * PROJECT_RATE)


def assert_lands(case: Case, manifest_path: Path, source: Path, *, stems: bool) -> dict[str, Any]:
    """`case`'s manifest and files: placement, fitted lengths, splicing, stems, credits."""
    manifest: dict[str, Any] = json.loads(manifest_path.read_text())
    jsonschema.Draft202012Validator(schema()).validate(manifest)
    assert (manifest["action"], manifest["credits"]) == (case.action, None)
    project = manifest_path.parents[2]
    files = {entry["kind"]: entry for entry in manifest["files"]}
    with_stems = stems or case.stems_only
    kinds = {*([] if case.stems_only else ["result"]), *(["spliced"] if case.section else [])}
    assert set(files) == kinds | (set(STEMS) if with_stems else set()), case.action
    for entry in manifest["files"]:
        info = sf.info(str(project / entry["path"]))
        assert (info.samplerate, info.frames) == (PROJECT_RATE, entry["lengthSamples"])
        assert entry["position"] == {"seconds": case.position, "samples": frames(case.position)}
    length = files["instrumental" if case.stems_only else "result"]["lengthSamples"]
    if case.exact:
        assert length == frames(case.seconds), case.action
    else:
        assert length >= frames(case.seconds), case.action
    if with_stems:
        assert [files[name]["lengthSamples"] for name in STEMS] == [length, length]
    if with_stems and not case.stems_only:  # they add up to it, as tests/test_cli.py's do
        result = read_audio(project / files["result"]["path"])
        stems = sum(read_audio(project / files[name]["path"]) for name in STEMS)
        # where the result is not clipped at full scale (its stems, each quieter, are not)
        unclipped = np.abs(result) < FULL_SCALE
        assert np.abs(stems - result)[unclipped].max() <= 4 / 32768
    if case.section is not None:
        assert_spliced(case.section, read_audio(project / files["spliced"]["path"]), source)
    return manifest


def assert_spliced(section: tuple[float, float | None], spliced: np.ndarray, source: Path) -> None:
    """The source's own samples outside the section and its crossfades, and new material
    inside it: the service was asked for the section where the clip holds it."""
    original = read_audio(source)
    start, end = section
    if end is None:  # an extension: the original up to the point, then the continuation
        kept, new = slice(0, frames(start)), slice(frames(start + FADE), frames(CLIP_SECONDS))
    else:
        assert spliced.shape == original.shape
        after = frames(end + FADE)
        assert np.array_equal(spliced[after:], original[after:])
        kept, new = slice(0, frames(start - FADE)), slice(frames(start + FADE), frames(end - FADE))
    assert np.array_equal(spliced[kept], original[kept])
    assert np.mean(np.abs(spliced[new] - original[new])) > OTHER_NOISE


def asked(twin: EmulatorServer, manifest: dict[str, Any]) -> dict[str, str]:
    """The action AceData was asked for by each paid task of a job (its create, its stems
    split), as the twin's task record keeps the request it was made from."""
    headers = {"Authorization": f"Bearer {twin.token}"}
    found: dict[str, str] = {}
    with httpx.Client(timeout=10, headers=headers) as http:
        for step, task_id in manifest["taskIds"].items():
            if step == "generate" or step.startswith("stems"):
                body = {"id": task_id, "action": "retrieve"}
                record = http.post(f"{twin.url}/producer/tasks", json=body).json()
                found[step] = record["request"]["action"]
    return found


def expected_asks(case: Case, *, stems: bool) -> dict[str, str]:
    if case.stems_only:
        return {"stems:1": case.sent_as}
    return {"generate": case.sent_as} | ({"stems:1": "stems"} if stems else {})


ACEDATA_ENDPOINTS = {"upload", "audios", "wav", "tasks", "files"}


def drop_off(drop: Path, case: Case, clip: Path, project: Path) -> None:
    """Hand `case` to the drop folder as a person or a script would: its clip and a sidecar
    (the same request, the clip's path left to the folder) into the action's folder, or a
    request file into requests/ for create_music, which takes no clip. Each is written under
    a name the watcher ignores, then renamed."""
    request = request_of(case, clip, project, stems=False)
    if not case.clip:
        put(drop / "requests" / f"{case.action}.json", json.dumps(request).encode())
        return
    del request["clip"]["path"]
    put(drop / case.action / f"{case.action}.json", json.dumps(request).encode())
    put(drop / case.action / f"{case.action}.wav", clip.read_bytes())


def put(path: Path, data: bytes) -> None:
    hidden = path.with_name(f".{path.name}")
    hidden.write_bytes(data)
    hidden.rename(path)


def test_every_action_through_osc_and_the_drop_folder_of_one_daemon(
    jobs_config: Path,
    tmp_path: Path,
    port: int,
    listener: OscListener,
    twin: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRODUCER_API_PROVIDER", "acedata")  # the daemon inherits it
    osc = f'port = {port}\nreply_to = "127.0.0.1:{listener.port}"'
    config = daemon_config(jobs_config, tmp_path, port, osc=osc)
    clip = song(tmp_path / "clip.wav", CLIP_SECONDS, PROJECT_RATE, 2, "PCM_16")
    tally = Tally(twin)
    by_osc, by_drop = tmp_path / "by-osc", tmp_path / "by-drop"
    with running_daemon(config, twin.url, port):
        for case in CASES:  # every action with stems
            request = request_of(case, clip, by_osc, stems=True)
            listener.send(port, "/bridge/job", json.dumps(request))
        for case in CASES:
            drop_off(tmp_path / "drop", case, clip, by_drop)
        accepted = [listener.wait_for("/bridge/job/accepted") for _ in range(2 * len(CASES))]
        done = [
            listener.wait_for("/bridge/job/done", lambda a, j=job_id: a[0] == j)
            for job_id, _ in accepted
        ]
    assert sorted(action for _, action in accepted) == sorted(2 * [c.action for c in CASES])
    assert {credits for _, _, credits, *_ in done} == {""}  # null: AceData tells no usage
    landed: dict[Path, list[str]] = {by_osc: [], by_drop: []}
    for manifest_path in (Path(manifest) for _, manifest, *_ in done):
        project = manifest_path.parents[2]
        case = BY_ACTION[json.loads(manifest_path.read_text())["action"]]
        manifest = assert_lands(case, manifest_path, clip, stems=project == by_osc)
        assert asked(twin, manifest) == expected_asks(case, stems=project == by_osc)
        landed[project].append(case.action)
    assert {project: sorted(found) for project, found in landed.items()} == {
        project: sorted(BY_ACTION) for project in (by_osc, by_drop)
    }
    assert tally.made() == expected_tasks(CASES, stems=True) + expected_tasks(CASES, stems=False)
    assert tally.endpoints() <= ACEDATA_ENDPOINTS
    taken = {path.name for path in (tmp_path / "drop" / "done").iterdir()}
    dropped = {f"{c.action}{suffix}" for c in CASES for suffix in (".json", ".wav") if c.clip}
    assert taken == dropped | {"create_music.json"}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.action)
def test_every_action_through_run(
    case: Case,
    jobs_config: Path,
    tmp_path: Path,
    twin: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # In this process, as tests/test_cli.py runs every action under mountsea-fuzz: `run`
    # in a process of its own under acedata is tests/test_acedata_chaos.py's.
    monkeypatch.setenv("PRODUCER_API_PROVIDER", "acedata")
    clip = song(tmp_path / "clip.wav", CLIP_SECONDS, PROJECT_RATE, 2, "PCM_16")
    tally = Tally(twin)
    where = ("--clip", str(clip), "--position", str(ITEM)) if case.clip else ()
    options = (*case.options, *where, "--sample-rate", str(PROJECT_RATE), "--api-url", twin.url)
    assert run(jobs_config, tmp_path / "project", case.action, *options) == 0
    folder, _ = written(tmp_path / "project")
    manifest = assert_lands(case, folder / "manifest.json", clip, stems=False)
    assert asked(twin, manifest) == expected_asks(case, stems=False)
    assert tally.made() == expected_tasks([case], stems=False)
    assert tally.endpoints() <= ACEDATA_ENDPOINTS
