"""The Producer API: request models, the async client, result parsing."""

from bridge.api.client import ProducerClient
from bridge.api.http import make_http_client
from bridge.api.models import ACTIONS, AudioRequest, Sound
from bridge.api.polling import PollPlan
from bridge.api.results import AudioClip, FileLink, TaskStatus, UploadResult
from bridge.api.retry import RetryPolicy

__all__ = [
    "ACTIONS",
    "AudioClip",
    "AudioRequest",
    "FileLink",
    "PollPlan",
    "ProducerClient",
    "RetryPolicy",
    "Sound",
    "TaskStatus",
    "UploadResult",
    "make_http_client",
]
