"""Building the configured stager, and what callers ask of whichever one it is."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from bridge.config import StagingSettings
from bridge.errors import StagingError
from bridge.staging.base import Stager
from bridge.staging.local import LocalHttpStager

if TYPE_CHECKING:
    from bridge.staging.s3 import S3Stager

# Both are context managers: entering the local one starts its server. The S3 one needs
# boto3, an optional extra, so it is imported only when the settings ask for it.
AnyStager: TypeAlias = "LocalHttpStager | S3Stager"
S3_EXTRA = 'pip install "producer-bridge[s3]"'


def make_stager(settings: StagingSettings) -> AnyStager:
    """The stager `settings.kind` names, not yet started: enter it (``with``) to use it."""
    if settings.kind == "s3":
        return _s3_stager_class()(settings.s3)
    return LocalHttpStager(
        host=settings.host,
        port=settings.port,
        public_base_url=settings.public_base_url,
        ttl=settings.ttl,
    )


def _s3_stager_class() -> type[S3Stager]:
    try:
        from bridge.staging.s3 import S3Stager
    except ModuleNotFoundError as exc:
        if exc.name not in ("boto3", "botocore"):
            raise
        raise StagingError(
            f'staging.kind is "s3", which needs boto3, not installed here: {S3_EXTRA} '
            '(or use staging.kind = "local")'
        ) from exc
    return S3Stager


def reachable_only_here(stager: Stager) -> bool:
    """True when the URLs handed out reach this machine only (so a hosted service cannot
    fetch them): the local stager without a public address, or a bucket on loopback."""
    return stager.reachable_only_here


def stager_base_url(stager: Stager) -> str:
    """Where clips are served from, for messages and the banner."""
    return stager.base_url
