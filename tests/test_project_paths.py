"""Results are written only inside allowed roots, under names that cannot escape."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.errors import ProjectError
from bridge.project import child, resolve_project, safe_component, slug


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "music"
    folder.mkdir()
    return folder


def test_a_project_inside_an_allowed_root_is_resolved(root: Path) -> None:
    project = root / "song"
    project.mkdir()
    assert resolve_project(str(project), [root]) == project.resolve()


def test_a_relative_project_folder_is_refused(root: Path) -> None:
    with pytest.raises(ProjectError, match="relative: give its absolute path"):
        resolve_project("music/song", [root])


def test_without_allowed_roots_nothing_is_allowed(root: Path) -> None:
    with pytest.raises(ProjectError, match=r"set `output\.allowed_roots`"):
        resolve_project(root / "song", [])


def test_a_project_outside_the_roots_is_refused_naming_folder_and_roots(
    root: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(ProjectError) as caught:
        resolve_project(elsewhere, [root])
    message = caught.value.message
    assert str(elsewhere) in message
    assert str(root.resolve()) in message
    assert "add the folder" in message
    assert "output.allowed_roots" in message


def test_a_symlink_inside_a_root_pointing_outside_is_refused(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    link = root / "innocent"
    link.symlink_to(outside, target_is_directory=True)
    with pytest.raises(ProjectError, match="outside the allowed roots") as caught:
        resolve_project(link, [root])
    assert str(outside.resolve()) in caught.value.message


def test_a_root_given_through_a_symlink_still_allows_its_projects(
    root: Path, tmp_path: Path
) -> None:
    alias = tmp_path / "alias"
    alias.symlink_to(root, target_is_directory=True)
    assert resolve_project(root / "song", [alias]) == (root / "song").resolve()


@pytest.mark.parametrize(
    "name",
    ["", ".", "..", "a/b", "../up", "/etc/passwd", "a\\b", "C:x", "c:", "nul\x00byte", "bell\x07"],
)
def test_unsafe_names_are_refused_with_their_origin(name: str) -> None:
    with pytest.raises(ProjectError, match="stem name from the API result") as caught:
        safe_component(name, "stem name from the API result")
    assert repr(name) in caught.value.message


@pytest.mark.parametrize("name", ["vocals.wav", "Take 1 (final)", "歌声.wav", "a..b", ".hidden"])
def test_plain_names_pass_unchanged(name: str) -> None:
    assert safe_component(name, "file name") == name


def test_child_joins_plain_names_under_base(root: Path) -> None:
    assert child(root, "results", "take.wav", what="file name") == root / "results" / "take.wav"


def test_child_refuses_a_symlinked_subfolder_escaping_base(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "results").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ProjectError, match="symbolic link") as caught:
        child(root, "results", "take.wav", what="file name")
    assert str(root / "results" / "take.wav") in caught.value.message


def test_child_accepts_a_symlink_that_stays_inside_base(root: Path) -> None:
    (root / "real").mkdir()
    (root / "alias").symlink_to(root / "real", target_is_directory=True)
    assert child(root, "alias", "take.wav", what="file name") == root / "alias" / "take.wav"


def test_child_refuses_an_unsafe_name_with_its_origin(root: Path) -> None:
    with pytest.raises(ProjectError, match="title from the request"):
        child(root, "..", what="title from the request")


def test_slug_keeps_letters_of_every_script() -> None:
    assert slug("Hello, World!") == "hello-world"
    assert slug("夜の歌 Night") == "夜の歌-night"
    assert len(slug("x" * 100)) == 40
