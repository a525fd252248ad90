"""Running jobs: each step against the API, journaled; the queue that runs them."""

from bridge.pipeline.deps import Deps, NeedsAttention, Progress
from bridge.pipeline.runner import JobRunner
from bridge.pipeline.steps import JobRun

__all__ = ["Deps", "JobRun", "JobRunner", "NeedsAttention", "Progress"]
