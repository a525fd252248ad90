"""Making a local clip reachable by URL, so the service can fetch it for `upload`."""

from bridge.staging.base import StagedClip, Stager
from bridge.staging.factory import AnyStager, make_stager, reachable_only_here, stager_base_url
from bridge.staging.local import LocalHttpStager
from bridge.staging.s3 import S3Stager

__all__ = ["LocalHttpStager", "StagedClip", "Stager"]
__all__ += ["AnyStager", "S3Stager", "make_stager", "reachable_only_here", "stager_base_url"]
