"""The Producer API: the wire contract, the async client, result parsing."""

from bridge.api.client import ProducerClient
from bridge.api.http import make_http_client
from bridge.api.polling import PollPlan
from bridge.api.retry import RetryPolicy

__all__ = [
    "PollPlan",
    "ProducerClient",
    "RetryPolicy",
    "make_http_client",
]
