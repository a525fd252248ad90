"""`producer-bridge jobs`: list, show, retry, cancel, prune and resume journaled jobs."""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from bridge.app import open_journal, open_runner, work_folder
from bridge.cli.args import load_settings
from bridge.cli.backend import Prefixed, add_backend_options, service_choice
from bridge.cli.progress import make_progress
from bridge.config import Config
from bridge.errors import JobError
from bridge.jobs.state import (
    FINISHED,
    RETRYABLE,
    UNFINISHED,
    Event,
    EventKind,
    Job,
    JobStatus,
    lost_billed_create,
)
from bridge.journal import Journal
from bridge.pipeline import JobRunner
from bridge.pipeline.runner import remove_completed_work

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _duration(text: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(
            f"expected a duration such as 30d, 12h, 45m or 90s (got {text!r})"
        )
    if not match[2]:
        number = match[1]
        raise argparse.ArgumentTypeError(
            f"{number} needs a unit: {number}d for days, {number}h for hours, {number}m for "
            f"minutes, {number}s for seconds"
        )
    return float(match[1]) * _UNITS[match[2]]


def add_jobs_parser(commands: Any) -> None:
    jobs = commands.add_parser(
        "jobs",
        help="list and manage journaled jobs",
        description="Jobs are journaled in SQLite: nothing is lost when the bridge stops.",
    )
    jobs.set_defaults(func=command)
    sub = jobs.add_subparsers(dest="jobs_command", metavar="SUBCOMMAND")
    listing = sub.add_parser("list", help="a table of jobs, newest first (the default)")
    listing.add_argument("--limit", type=int, default=30, help="at most this many (default 30)")
    show = sub.add_parser("show", help="one job: every step with its ids and errors")
    show.add_argument("id", help="job id, or its first characters")
    retry = sub.add_parser("retry", help="run a failed, cancelled or stopped job again")
    retry.add_argument("id", help="job id, or its first characters")
    retry.add_argument(
        "--force",
        action="store_true",
        help="send a create whose answer was lost again (the service may bill it twice)",
    )
    add_backend_options(retry)
    cancel = sub.add_parser("cancel", help="stop a job (the service itself has no cancel)")
    cancel.add_argument("id", help="job id, or its first characters")
    prune = sub.add_parser(
        "prune",
        help="forget completed jobs (and, when asked, jobs `jobs retry` could still finish)",
    )
    prune.add_argument(
        "--older-than",
        type=_duration,
        required=True,
        metavar="AGE",
        help="last changed longer ago than this, with its unit: 90s, 45m, 12h, 30d, 2w",
    )
    prune.add_argument(
        "--include-retryable",
        action="store_true",
        help=f"also forget {', '.join(RETRYABLE)} jobs (they are kept by default)",
    )
    prune.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    resume = sub.add_parser("resume", help="run every unfinished job to its end")
    add_backend_options(resume)


def command(args: argparse.Namespace, out: Console, err: Console) -> int:
    return execute(args, load_settings(args), out, err)


def execute(args: argparse.Namespace, config: Config, out: Console, err: Console) -> int:
    with open_journal(config) as journal:
        command = args.jobs_command or "list"
        if command == "list":
            _print_table(out, jobs_table(journal.jobs(getattr(args, "limit", 30)), time.time()))
            _print_set_aside(journal, out)
            return 0
        if command == "show":
            show(journal, journal.get(args.id), out)
            return 0
        if command == "cancel":
            return cancel(journal, journal.get(args.id), out)
        if command == "prune":
            return prune(journal, Pruning.of(args), out, err)
        if command == "retry":
            job = prepare_retry(journal, journal.get(args.id), force=args.force)
            return _report(asyncio.run(_run(args, config, journal, err, [job])), out, err)
        jobs = journal.unfinished()
        if not jobs:
            # A job that completed just before a stop may still have left its work folder.
            remove_completed_work(journal, work_folder(journal))
            out.print("no unfinished jobs", markup=False)
            return 0
        return _report(asyncio.run(_run(args, config, journal, err, None)), out, err)


def jobs_table(jobs: list[Job], now: float) -> Table:
    table = Table("id", "action", "status", "step", "age", "project", box=None)
    for job in jobs:
        status = job.status
        table.add_row(
            job.short_id,
            job.request.action,
            status,
            (job.step or "") if status != JobStatus.COMPLETED else "",
            _age(now - job.created_at),
            job.request.project,
        )
    return table


def _print_set_aside(journal: Journal, out: Console) -> None:
    for row in journal.set_aside():
        out.print(
            f"job {row.short_id} ({row.status}) cannot be read by this version of "
            f"producer-bridge, so it is set aside; its row is kept in {journal.path}: "
            f"{row.reason}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def show(journal: Journal, job: Job, out: Console) -> None:
    facts = job.facts
    lines = [
        f"job       {job.id}",
        f"action    {job.request.action} ({job.request.audio.model})",
        f"status    {job.status}" + (f" at {job.step}" if job.step else ""),
        f"project   {job.request.project}",
    ]
    if job.error:
        lines.append(f"error     {job.error}")
    lines += [f"task      {key}: {task}" for key, task in facts.tasks.items()]
    lines += [f"failed    {key}: {task}" for key, task in facts.failed_tasks.items()]
    lines += [f"audio     {key}: {audio}" for key, audio in facts.audio_ids.items()]
    lines += [f"file      {path}" for path in facts.written]
    if facts.manifest:
        lines.append(f"manifest  {facts.manifest}")
    spent = facts.spent()
    lines.append(f"credits   {'unknown' if spent is None else f'{spent:g}'}")
    if job.request.contract:
        lines.append(f"provider  {job.request.provider} ({job.request.contract})")
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    table = Table("time", "step", "event", "key", "details", box=None)
    for event in journal.events(job.id):
        stamp = time.strftime("%H:%M:%S", time.localtime(event.at))
        details = ", ".join(f"{k}={v}" for k, v in event.data.items())
        table.add_row(stamp, event.step or "", event.kind, event.key or "", details)
    _print_table(out, table)


def _print_table(out: Console, table: Table) -> None:
    """Fitted to a terminal; whole lines elsewhere, so that pipes and scripts get every path."""
    if out.is_terminal:
        out.print(table)
        return
    unbounded = out.options.update(max_width=100_000)
    fitted, out.width = out.width, max(out.width, Measurement.get(out, unbounded, table).maximum)
    try:
        out.print(table)
    finally:
        out.width = fitted


def prepare_retry(journal: Journal, job: Job, *, force: bool) -> Job:
    """The job, queued again and claimed by this process; JobError if it cannot be."""
    if job.status not in RETRYABLE:
        raise JobError(
            f"job {job.short_id} is {job.status}; only {', '.join(RETRYABLE)} jobs are retried"
        )
    lost = lost_billed_create(job)
    if job.status == JobStatus.NEEDS_ATTENTION and lost and not force:
        raise JobError(
            f"job {job.short_id} stopped while its {lost} request was being sent; the service "
            f"may already have started it. Add --force to send it again (it may be billed twice)"
        )
    if not journal.claim(job.id):
        raise JobError(f"job {job.short_id} is being run by another producer-bridge process")
    return journal.record(job, Event(EventKind.RETRIED, data={"force": force}))


def cancel(journal: Journal, job: Job, out: Console) -> int:
    if job.status in FINISHED:
        raise JobError(f"job {job.short_id} is already {job.status}")
    if job.status in UNFINISHED and journal.running_elsewhere(job.id):
        journal.request_cancel(job.id)
        out.print(f"job {job.short_id}: cancel requested; its process stops it", markup=False)
        return 0
    journal.record(job, Event(EventKind.CANCELLED, data={"message": "cancelled by request"}))
    out.print(
        f"job {job.short_id} cancelled (nothing more is polled or fetched; the service has no "
        "cancel, so a task it already started still runs there)",
        markup=False,
    )
    return 0


@dataclass(frozen=True)
class Pruning:
    """What `jobs prune` was asked: the age, the statuses, and whether and how it asks."""

    before: float
    statuses: tuple[str, ...]
    yes: bool
    ask: Callable[[str], bool] | None  # None: no terminal to ask on

    @classmethod
    def of(cls, args: argparse.Namespace) -> Pruning:
        statuses = (
            (JobStatus.COMPLETED, *RETRYABLE) if args.include_retryable else (JobStatus.COMPLETED,)
        )
        ask = _ask if sys.stdin.isatty() else None
        return cls(time.time() - args.older_than, statuses, args.yes, ask)


def _ask(question: str) -> bool:
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def prune(journal: Journal, pruning: Pruning, out: Console, err: Console) -> int:
    chosen = journal.prunable(pruning.before, pruning.statuses)
    chosen_ids = {job.id for job in chosen}
    kept = [j for j in journal.prunable(pruning.before, RETRYABLE) if j.id not in chosen_ids]
    if chosen and not pruning.yes:
        if pruning.ask is None:
            err.print(
                f"jobs prune would remove {len(chosen)} job(s) and asks first; without a "
                "terminal to ask on, add --yes",
                markup=False,
            )
            return 2
        for job in chosen:
            out.print(_pruned_line("to remove", job), markup=False, highlight=False)
        if not pruning.ask(f"remove {len(chosen)} job(s)?"):
            out.print("nothing removed", markup=False)
            return 1
    pruned = journal.prune(pruning.before, pruning.statuses, only=chosen_ids)
    for job in pruned:
        shutil.rmtree(journal.path.parent / "work" / job.id, ignore_errors=True)
        out.print(_pruned_line("removed", job), markup=False, highlight=False)
    out.print(f"pruned {len(pruned)} job(s)", markup=False)
    if kept:
        out.print(
            f"kept {len(kept)} {'/'.join(RETRYABLE)} job(s) that `jobs retry` could still "
            "finish; add --include-retryable to remove them too",
            markup=False,
        )
    return 0


def _pruned_line(what: str, job: Job) -> str:
    age = _age(time.time() - job.updated_at)
    return f"{what} {job.short_id} {job.request.action} {job.status} {age} {job.request.project}"


async def _run(
    args: argparse.Namespace,
    config: Config,
    journal: Journal,
    err: Console,
    jobs: list[Job] | None,
) -> dict[str, Job]:
    """Run the given claimed jobs, or every unfinished job when `jobs` is None."""
    pending = jobs if jobs is not None else journal.unfinished()
    stage = any(job.request.needs_upload for job in pending)
    with make_progress(err) as progress:
        async with open_runner(
            service_choice(args),
            config,
            err,
            journal=journal,
            stage=stage,
            progress=lambda job: Prefixed(progress, job),
            wire="httpx",  # one job or a few: the lighter wire to load
        ) as runner:
            _queue(runner, jobs)
            return await runner.run_until_idle()


def _queue(runner: JobRunner, jobs: list[Job] | None) -> None:
    if jobs is None:
        runner.resume()
    else:
        for job in jobs:
            runner.enqueue(job)


def _report(finished: dict[str, Job], out: Console, err: Console) -> int:
    failed = 0
    for job in finished.values():
        line = f"job {job.short_id} {job.status}"
        if job.status == JobStatus.COMPLETED:
            out.print(f"{line}: {job.request.project}/{job.facts.manifest}", markup=False)
        else:
            failed += 1
            err.print(f"{line}: {job.error}", markup=False, highlight=False)
    return 1 if failed else 0


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{max(seconds, 0):.0f}s"
