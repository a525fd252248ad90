"""Making a local clip reachable by URL, so the service can fetch it for `upload`."""

from bridge.staging.base import StagedClip, Stager
from bridge.staging.local import LocalHttpStager

__all__ = ["LocalHttpStager", "StagedClip", "Stager"]
