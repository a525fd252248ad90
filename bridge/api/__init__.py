"""The Producer API: the wire contract, the async client, result parsing."""

from bridge.api.client import ProducerClient
from bridge.api.http import make_http_client
from bridge.api.polling import PollPlan
from bridge.api.results import AudioClip, FileLink, TaskStatus, UploadResult
from bridge.api.retry import RetryPolicy

__all__ = [
    "AudioClip",
    "FileLink",
    "PollPlan",
    "ProducerClient",
    "RetryPolicy",
    "TaskStatus",
    "UploadResult",
    "make_http_client",
]
