"""Building the configured stager, and what callers ask of whichever one it is."""

from __future__ import annotations

from bridge.config import StagingSettings
from bridge.staging.base import Stager
from bridge.staging.local import LocalHttpStager
from bridge.staging.s3 import S3Stager

# Both are context managers: entering the local one starts its server.
AnyStager = LocalHttpStager | S3Stager


def make_stager(settings: StagingSettings) -> AnyStager:
    """The stager `settings.kind` names, not yet started: enter it (``with``) to use it."""
    if settings.kind == "s3":
        return S3Stager(settings.s3)
    return LocalHttpStager(
        host=settings.host,
        port=settings.port,
        public_base_url=settings.public_base_url,
        ttl=settings.ttl,
    )


def reachable_only_here(stager: Stager) -> bool:
    """True when the URLs handed out reach this machine only (so a hosted service cannot
    fetch them): the local stager without a public address, or a bucket on loopback."""
    return stager.reachable_only_here


def stager_base_url(stager: Stager) -> str:
    """Where clips are served from, for messages and the banner."""
    return stager.base_url
