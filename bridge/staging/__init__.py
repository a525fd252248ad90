"""Making a local clip reachable by URL, so the service can fetch it for `upload`.

`S3Stager` needs boto3 (the optional extra `producer-bridge[s3]`): it is imported on first
use, never at start."""

from typing import TYPE_CHECKING, Any

from bridge.staging.base import StagedClip, Stager
from bridge.staging.factory import AnyStager, make_stager, reachable_only_here, stager_base_url
from bridge.staging.local import LocalHttpStager

if TYPE_CHECKING:
    from bridge.staging.s3 import S3Stager


def __getattr__(name: str) -> Any:
    if name != "S3Stager":
        raise AttributeError(f"module 'bridge.staging' has no attribute {name!r}")
    from bridge.staging.s3 import S3Stager

    return S3Stager


__all__ = ["LocalHttpStager", "StagedClip", "Stager"]
__all__ += ["AnyStager", "S3Stager", "make_stager", "reachable_only_here", "stager_base_url"]
