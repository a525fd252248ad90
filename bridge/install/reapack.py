"""The ReaPack index of the REAPER scripts, for a published copy of this repository.

ReaPack installs packages listed in an index (https://github.com/cfillion/reapack/wiki/
Index-Format). This one holds one package, "ProducerBridge - Settings.lua", whose header
(`@version`, `@author`, `@description`, `@changelog`, `@provides`) names every other file.
Each download link points at one revision of the repository, the tag or commit given
(never a branch), so a user installs exactly what was released. The links follow
reapack-index's template, `<repository>/raw/$commit/$path`, or the one given.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import quote

from bridge.errors import InstallError

PACKAGE: Final = "ProducerBridge - Settings.lua"
NAME: Final = "Producer Bridge"
FOLDER: Final = "reaper_scripts"  # where the scripts are in the repository
_TAG = re.compile(r"--\s*@(\w+)\s*(.*)")
_PROVIDED = re.compile(r"\[(\w+)\]\s+(.+)")


def header(path: Path) -> dict[str, list[str]]:
    """The metadata tags at the top of a script: tag -> its lines (the first on the tag's
    own line, then the indented lines under it)."""
    tags: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _TAG.match(line)
        if match:
            current = tags.setdefault(match[1], [])
            if match[2]:
                current.append(match[2].strip())
        elif line.startswith("--") and current is not None:
            if line[2:].strip():
                current.append(line[2:].strip())
        else:
            break
    return tags


@dataclass(frozen=True)
class Source:
    file: str  # relative to the scripts' folder, "/" separated
    main: bool  # an action in the main section of the Action list


def sources(scripts: Path) -> list[Source]:
    """The package's files: itself, then what its @provides lists."""
    found = [Source(PACKAGE, True)]
    for line in header(scripts / PACKAGE).get("provides", []):
        match = _PROVIDED.fullmatch(line)
        if not match or match[1] not in ("main", "nomain"):
            raise InstallError(f"{PACKAGE}: cannot read the @provides line {line!r}")
        found.append(Source(match[2], match[1] == "main"))
    for source in found:
        if not (scripts / source.file).is_file():
            raise InstallError(f"{PACKAGE} provides {source.file}, which is not in {scripts}")
    return found


def check_versions(scripts: Path, version: str) -> None:
    """Every action script must carry `version`: the index would otherwise lie."""
    wrong = [
        f"{path.name} ({' '.join(header(path).get('version', ['none']))})"
        for path in sorted(scripts.glob("ProducerBridge - *.lua"))
        if header(path).get("version") != [version]
    ]
    if wrong:
        raise InstallError(
            f"not every script is at version {version}: "
            + ", ".join(wrong)
            + "; set their @version headers first"
        )


def link(template: str, path: str, ref: str, version: str) -> str:
    """`template` with reapack-index's placeholders $path, $commit and $version filled."""
    values = {"$path": quote(path, safe="/"), "$commit": quote(ref, safe=""), "$version": version}
    return re.sub(r"\$(path|commit|version)\b", lambda m: values[m[0]], template)


def default_template(repository: str) -> str:
    if not re.fullmatch(r"https?://[^\s/]+/\S+", repository):
        raise InstallError(
            f"{repository!r} is not a repository address: give its https address, "
            "e.g. https://github.com/you/producer-bridge"
        )
    return repository.rstrip("/").removesuffix(".git") + "/raw/$commit/$path"


def build_index(scripts: Path, version: str, ref: str, template: str) -> bytes:
    """The index as XML, its links made from `template` at revision `ref`."""
    if "$path" not in template:
        raise InstallError(f"the link template {template!r} has no $path")
    check_versions(scripts, version)
    tags = header(scripts / PACKAGE)
    index = ET.Element("index", version="1", name=NAME)
    category = ET.SubElement(index, "category", name=NAME)
    package = ET.SubElement(
        category, "reapack", name=PACKAGE, type="script", desc=" ".join(tags["description"])
    )
    release = ET.SubElement(
        package, "version", name=version, author=" ".join(tags.get("author", []))
    )
    ET.SubElement(release, "changelog").text = "\n".join(tags.get("changelog", []))
    for source in sources(scripts):
        element = ET.SubElement(release, "source")
        if source.file != PACKAGE:
            element.set("file", source.file)
        if source.main:
            element.set("main", "main")
        element.text = link(template, f"{FOLDER}/{source.file}", ref, version)
    ET.indent(index)
    text: bytes = ET.tostring(index, encoding="utf-8", xml_declaration=True)
    return text + b"\n"
