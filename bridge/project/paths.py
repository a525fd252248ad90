"""Where results may be written: inside an allowed root, under names that stay put.

Names come from requests and from API results, so they are untrusted: a name such as
``../../.bashrc`` or a symlinked folder must never lead a write outside the project.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from bridge.errors import Issue, ProjectError

_DRIVE = re.compile(r"^[A-Za-z]:")
# What a project's path may be at most, where the system does not say (bytes).
_NAME_MAX, _PATH_MAX = 255, 4096
# Room a job's files need below the results folder: a job folder
# (`<stamp>_<action>_<title>_<id>`, at most 83 characters), `stems_N/`, a stem's name, and
# the temporary name each file is written under before it is renamed.
RESULTS_ROOM = 200


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe form of a title; keeps letters of every script (Chinese too)."""
    normal = unicodedata.normalize("NFKC", text)
    cleaned = re.sub(r"[^\w]+", "-", normal, flags=re.UNICODE).strip("-_").lower()
    return cleaned[:limit].strip("-")


def real_path(path: Path) -> Path:
    """`path` with `~` expanded and every symlink resolved."""
    return Path(os.path.realpath(path.expanduser()))


def inside_roots(path: Path, roots: Sequence[Path]) -> bool:
    """Whether `path` really lies inside one of `roots`: a symlink cannot lead it out."""
    real = real_path(path)
    return any(real.is_relative_to(real_path(root)) for root in roots)


def resolve_project(folder: str | Path, allowed_roots: Sequence[Path]) -> Path:
    """The project folder with symlinks resolved, if it lies inside an allowed root."""
    given = Path(folder)
    if not given.is_absolute():
        raise ProjectError(
            f"project folder {str(folder)!r} is relative: give its absolute path "
            "(relative paths depend on where the bridge was started)"
        )
    if not allowed_roots:
        raise ProjectError(
            f"no folder is allowed for results, so {given} is refused: "
            "set `output.allowed_roots` in the config to the folders that hold your projects"
        )
    resolved = given.resolve()
    roots = [root.resolve() for root in allowed_roots]
    if any(resolved.is_relative_to(root) for root in roots):
        return resolved
    listed = ", ".join(str(root) for root in roots)
    leads = f" (it leads to {resolved})" if resolved != given else ""
    raise ProjectError(
        f"project folder {given}{leads} is outside the allowed roots ({listed}): "
        "add the folder (or one above it) to `output.allowed_roots` in the config"
    )


def safe_component(name: str, what: str) -> str:
    """`name` unchanged if it is one plain file or folder name; else a ProjectError."""
    reason = _unsafe_reason(name)
    if reason is not None:
        raise ProjectError(
            f"refused {what} {name!r}: {reason}; only a single plain file or folder name "
            "is accepted, so nothing is written outside the project folder"
        )
    return name


def _unsafe_reason(name: str) -> str | None:
    if not name:
        return "it is empty"
    if name in (".", ".."):
        return "it names a folder relative to another"
    if "/" in name or "\\" in name:
        return "it contains a path separator"
    if any(unicodedata.category(char) == "Cc" for char in name):
        return "it contains a control character"
    if _DRIVE.match(name):
        return "it looks like a Windows drive"
    return None


def child(base: Path, *names: str, what: str) -> Path:
    """`base` joined with safe `names`, refused if a symlink leads the result out of `base`."""
    path = base.joinpath(*(safe_component(name, what) for name in names))
    root = base.resolve()
    # resolve() follows every existing symlink on the way, intermediate folders included.
    target = path.resolve()
    if not target.is_relative_to(root):
        raise ProjectError(
            f"{path} leads to {target}, outside {root} (through a symbolic link): "
            "remove or replace the link, then retry the job"
        )
    return path


def writable_issues(project: Path, results_folder: str) -> list[Issue]:
    """What would keep a job's results from being written under `project`, judged before
    anything is paid for: a name or a path too long for its file system, or a results
    folder that a symbolic link leads out of the project."""
    name_max, path_max = _limits(project)
    issues = [
        Issue(
            "project.folder",
            f"the name {name[:40]!r}... is {_size(name)} bytes; this file system allows at "
            f"most {name_max}: rename the folder",
        )
        for name in project.parts[1:]
        if _size(name) > name_max
    ]
    longest = _size(str(project)) + 1 + _size(results_folder) + RESULTS_ROOM
    if longest > path_max:
        issues.append(
            Issue(
                "project.folder",
                f"the path is {_size(str(project))} bytes, and results inside it need up to "
                f"{longest - _size(str(project))} more; this system allows {path_max}: "
                "move the project to a shorter path",
            )
        )
    if issues:
        return issues
    results = project / results_folder
    target = Path(os.path.realpath(results))
    if not target.is_relative_to(os.path.realpath(project)):
        issues.append(
            Issue(
                "project.folder",
                f"its results folder {results} leads to {target}, outside the project "
                "(through a symbolic link): remove or replace the link",
            )
        )
    return issues


def _size(name: str) -> int:
    return len(os.fsencode(name))


def _limits(path: Path) -> tuple[int, int]:
    """The longest name and path the file system holding `path` (or its nearest existing
    folder) allows."""
    existing = next((folder for folder in (path, *path.parents) if os.path.isdir(folder)), path)
    try:
        return (
            os.pathconf(existing, "PC_NAME_MAX"),
            os.pathconf(existing, "PC_PATH_MAX"),
        )
    except (AttributeError, OSError, ValueError):  # no pathconf (Windows), or no answer
        return _NAME_MAX, _PATH_MAX
