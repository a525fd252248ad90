"""The stager interface. Implementations: the loopback HTTP stager (here), and an
S3-compatible one with presigned URLs (planned)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class StagedClip:
    """A clip reachable at `url` until `expires_at` (seconds since the epoch)."""

    path: Path
    url: str
    token: str
    expires_at: float


class Stager(Protocol):
    def stage(self, path: Path) -> StagedClip:
        """Make `path` reachable by URL; the URL ends in the file's extension."""
        ...

    def unstage(self, clip: StagedClip) -> None:
        """Stop serving a clip before it expires. Unknown clips are ignored."""
        ...

    def close(self) -> None: ...
