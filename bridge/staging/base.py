"""The stager interface. Implementations: the loopback HTTP stager (`local`), and an
S3-compatible one handing out presigned URLs (`s3`)."""

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
    @property
    def base_url(self) -> str:
        """Where clips are served from, for messages and the banner."""
        ...

    @property
    def reachable_only_here(self) -> bool:
        """True when the URLs handed out reach this machine only, so that a hosted service
        cannot fetch them."""
        ...

    def stage(self, path: Path) -> StagedClip:
        """Make `path` reachable by URL; the URL ends in the file's extension."""
        ...

    def unstage(self, clip: StagedClip) -> None:
        """Stop serving a clip before it expires. Unknown clips are ignored."""
        ...

    def close(self) -> None: ...
