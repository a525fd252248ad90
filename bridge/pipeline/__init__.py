"""Running jobs: each step against the API, journaled; the queue that runs them."""

from bridge.pipeline.runner import JobRunner
from bridge.pipeline.steps import Deps, JobRun, NeedsAttention, Progress

__all__ = ["Deps", "JobRun", "JobRunner", "NeedsAttention", "Progress"]
