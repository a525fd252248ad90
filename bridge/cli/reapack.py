"""`producer-bridge reapack-index REPOSITORY VERSION`: the ReaPack index of the REAPER
scripts, for a published copy of this repository."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console


def add_reapack_parser(commands: Any) -> None:
    index = commands.add_parser(
        "reapack-index",
        help="write the ReaPack index of the REAPER scripts for a published repository",
        description="Write reaper_scripts/index.xml: one ReaPack package whose every link "
        "points at REPOSITORY at one revision (--ref, default the tag vVERSION), never a "
        "branch. Every script's @version must be VERSION.",
    )
    index.add_argument(
        "repository", help="the repository's address, e.g. https://github.com/you/producer-bridge"
    )
    index.add_argument("version", help="the scripts' version, as in their @version headers")
    index.add_argument("--ref", help="the tag or commit the links point at (default: vVERSION)")
    index.add_argument(
        "--url-template",
        help="links as reapack-index makes them, with $path, $commit and $version "
        "(default: REPOSITORY/raw/$commit/$path)",
    )
    index.add_argument("--from", dest="source", type=Path, help="the reaper_scripts folder")
    index.add_argument("--output", type=Path, help="where to write (default: FROM/index.xml)")
    index.set_defaults(func=_write_index)


def _write_index(args: argparse.Namespace, out: Console, err: Console) -> int:
    from bridge.errors import InstallError
    from bridge.files import replace_bytes_atomic
    from bridge.install.reapack import build_index, default_template
    from bridge.install.reaper import bundled_scripts

    scripts = args.source or bundled_scripts()
    template = args.url_template or default_template(args.repository)
    text = build_index(scripts, args.version, args.ref or f"v{args.version}", template)
    output = args.output or scripts / "index.xml"
    try:
        replace_bytes_atomic(output, text)
    except OSError as exc:
        raise InstallError(f"cannot write {output}: {exc.strerror or exc}") from exc
    out.print(f"wrote {output}", markup=False, highlight=False)
    return 0
