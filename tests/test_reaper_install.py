"""Installing and publishing the REAPER scripts: `producer-bridge install reaper` into a
folder, the "Install actions" script run there under the fake REAPER, and the ReaPack index
built for a repository at one revision, every link a file of that revision."""

from __future__ import annotations

import shlex
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote

import pytest

from bridge.cli.main import main
from bridge.errors import InstallError
from bridge.install.reapack import build_index, default_template
from bridge.install.reaper import FOLDER, install, scripts_folder
from tests.conftest import need_tool
from tests.reaper_fixtures import ROOT, SCRIPTS, run_script

REPOSITORY = "https://github.com/someone/producer-bridge"
VERSION = "0.1.0"
ACTIONS = sorted(p.name for p in SCRIPTS.glob("ProducerBridge - *.lua"))
LIBRARY = sorted(p.name for p in (SCRIPTS / "ProducerBridge").glob("*.lua"))


def test_install_reaper_copies_every_script_and_its_library(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "Scripts"
    assert main(["install", "reaper", "--target", str(target)]) == 0
    folder = target / FOLDER
    assert sorted(p.name for p in folder.glob("*.lua")) == ACTIONS
    assert sorted(p.name for p in (folder / "ProducerBridge").iterdir()) == LIBRARY
    for name in ACTIONS:
        assert (folder / name).read_bytes() == (SCRIPTS / name).read_bytes()
    out = capsys.readouterr().out
    assert f"installed {len(ACTIONS) + len(LIBRARY)} files into {folder}" in out
    assert "ProducerBridge - Install actions.lua" in out


def test_a_second_install_updates_the_scripts_and_leaves_other_files_alone(
    tmp_path: Path,
) -> None:
    target = tmp_path / "Scripts"
    install(target, SCRIPTS)
    old = target / FOLDER / "ProducerBridge - Cover.lua"
    old.write_text("-- an older version\n", encoding="utf-8")
    mine = target / FOLDER / "my notes.txt"
    mine.write_text("keep me", encoding="utf-8")
    install(target, SCRIPTS)
    assert old.read_bytes() == (SCRIPTS / old.name).read_bytes()
    assert mine.read_text(encoding="utf-8") == "keep me"
    assert not [p for p in (target / FOLDER).rglob(".*")]  # no temporary left


def test_install_refuses_a_folder_without_the_scripts(tmp_path: Path) -> None:
    with pytest.raises(InstallError, match="does not hold the REAPER scripts"):
        install(tmp_path / "Scripts", tmp_path)
    assert not (tmp_path / "Scripts").exists()


@pytest.mark.parametrize(
    ("system", "env", "expected"),
    [
        ("Linux", {}, "/home/me/.config/REAPER/Scripts"),
        ("Darwin", {}, "/home/me/Library/Application Support/REAPER/Scripts"),
        (
            "Windows",
            {"APPDATA": "/c/Users/me/AppData/Roaming"},
            "/c/Users/me/AppData/Roaming/REAPER/Scripts",
        ),
    ],
)
def test_the_default_target_is_reapers_scripts_folder_on_each_system(
    system: str, env: dict[str, str], expected: str
) -> None:
    assert scripts_folder(system, env, Path("/home/me")) == Path(expected)


def test_install_actions_adds_every_installed_action_to_the_action_list(tmp_path: Path) -> None:
    folder = install(tmp_path / "Scripts", SCRIPTS).folder
    result = run_script(folder / "ProducerBridge - Install actions.lua", {}, tmp_path)
    assert result["error"] is None
    registered = result["registered"]
    others = [name for name in ACTIONS if name != "ProducerBridge - Install actions.lua"]
    assert [Path(r["path"]).name for r in registered] == others
    assert all(Path(r["path"]).parent == folder and r["section"] == 0 for r in registered)
    assert [r["commit"] for r in registered] == [False] * (len(others) - 1) + [True]
    (message,) = result["messages"]
    import_id = 50001 + others.index("ProducerBridge - Import results.lua")
    assert f"{len(others)} Producer Bridge action(s) are in the Action list." in message["text"]
    assert f'import_action = "_RS{import_id:040x}"' in message["text"]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        [need_tool("git", "git"), "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        env={"GIT_CONFIG_GLOBAL": "/dev/null", "PATH": "/usr/bin:/bin"},
    )
    return done.stdout.strip()


def published(tmp_path: Path) -> tuple[Path, str]:
    """A repository holding the scripts at one commit: its folder and that commit."""
    repo = tmp_path / "repo"
    (repo / "reaper_scripts" / "ProducerBridge").mkdir(parents=True)
    for name in [*ACTIONS, *(f"ProducerBridge/{n}" for n in LIBRARY)]:
        (repo / "reaper_scripts" / name).write_bytes((SCRIPTS / name).read_bytes())
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=r", "-c", "user.email=r@example.net", "commit", "-qm", "r")
    return repo, git(repo, "rev-parse", "HEAD")


def test_the_index_links_every_file_to_that_file_at_the_given_revision(tmp_path: Path) -> None:
    repo, commit = published(tmp_path)
    output = tmp_path / "index.xml"
    args = ["reapack-index", REPOSITORY, VERSION, "--ref", commit, "--output", str(output)]
    assert main(args) == 0
    root = ET.fromstring(output.read_bytes())  # noqa: S314 - written by this test
    assert (root.tag, root.get("version"), root.get("name")) == ("index", "1", "Producer Bridge")
    (package,) = root.iter("reapack")
    (version,) = package.iter("version")
    assert (package.get("type"), version.get("name")) == ("script", VERSION)
    prefix = f"{REPOSITORY}/raw/{commit}/"
    linked = {}
    for source in version.iter("source"):
        assert source.text is not None
        assert source.text.startswith(prefix)
        path = unquote(source.text.removeprefix(prefix))
        git(repo, "cat-file", "-e", f"{commit}:{path}")  # the file, at that revision
        linked[path.removeprefix("reaper_scripts/")] = source.get("main")
    expected = {name: "main" for name in ACTIONS}
    expected.update({f"ProducerBridge/{name}": None for name in LIBRARY})
    assert linked == expected


def test_the_index_follows_a_tag_by_default_and_refuses_a_version_the_scripts_lack(
    tmp_path: Path,
) -> None:
    text = build_index(SCRIPTS, VERSION, f"v{VERSION}", default_template(REPOSITORY + ".git"))
    assert f"{REPOSITORY}/raw/v{VERSION}/reaper_scripts/".encode() in text
    assert b"/main/" not in text
    with pytest.raises(InstallError, match=r"not every script is at version 0\.2\.0"):
        build_index(SCRIPTS, "0.2.0", "v0.2.0", default_template(REPOSITORY))
    with pytest.raises(InstallError, match="not a repository address"):
        default_template("producer-bridge")


# What reapack-index counts as a package, by extension (lib/reapack/index.rb, PKG_TYPES).
PACKAGE_EXTENSIONS = {
    ".lua", ".eel", ".py", ".ext", ".jsfx", ".data", ".theme", ".reaperlangpack", ".www",
    ".rpp", ".rtracktemplate", ".txt", ".reaperautoitem", ".reaperkeymap",
}  # fmt: skip


def test_reapack_index_run_on_this_repository_would_read_only_the_reaper_scripts() -> None:
    options = shlex.split((ROOT / ".reapack-index.conf").read_text(encoding="utf-8"))
    ignored = [options[i + 1] for i, option in enumerate(options) if option == "--ignore"]
    assert "reaper_scripts" not in ignored
    tracked = git(ROOT, "ls-files").splitlines()
    # reapack-index skips files at the root (they have no category) and ignored paths.
    candidates = [
        path
        for path in tracked
        if "/" in path
        and Path(path).suffix in PACKAGE_EXTENSIONS
        and not any(path.startswith(prefix + "/") for prefix in ignored)
    ]
    assert candidates
    assert all(path.startswith("reaper_scripts/") for path in candidates), candidates
