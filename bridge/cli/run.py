"""`producer-bridge run ACTION`: one action on one clip, end to end."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridge.cli.backend import add_backend_options
from bridge.errors import Issue, RequestError
from bridge.jobs.names import CREATE, FETCH_FORMATS, JOB_ACTIONS

if TYPE_CHECKING:
    from rich.console import Console

    from bridge.config import Config
    from bridge.jobs import JobRequest
    from bridge.jobs.state import Job
    from bridge.journal import Journal

# The parser is built from the light modules above (`run --help` loads neither pydantic nor
# the audio stack); what runs a job is imported where it is used.

DEFAULT_STRENGTH = 0.5


class _NewPrompt(argparse.Action):
    def __call__(
        self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option: Any = None
    ) -> None:
        prompts = list(getattr(namespace, self.dest) or [])
        prompts.append({"text": values, "strength": None, "range": None})
        setattr(namespace, self.dest, prompts)


class _PromptSetting(argparse.Action):
    """--strength and --range apply to the --prompt given just before them."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option: Any = None
    ) -> None:
        prompts: list[dict[str, Any]] | None = getattr(namespace, "prompts", None)
        if not prompts:
            parser.error(f"{option} applies to the --prompt before it: give --prompt TEXT first")
        prompts[-1][self.dest] = values


def _time_range(text: str) -> tuple[float | None, float | None]:
    start, sep, end = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return (float(start) if start else None, float(end) if end else None)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected START:END in seconds, e.g. 0:30 or 45: (got {text!r})"
        ) from None


def _selection(text: str) -> tuple[float, float]:
    start, end = _time_range(text)
    if start is None or end is None:
        raise argparse.ArgumentTypeError(
            f"expected START:END in seconds, e.g. 12:16 (got {text!r})"
        )
    return start, end


def add_run_parser(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="run one Producer action and write the results into a project folder",
        description="Run one action end to end through the job journal: stage and upload the "
        "clip, generate, download the result (and stems), write them into the project at its "
        "sample rate with a manifest, and print the paths written. An interrupted run is "
        "picked up by `producer-bridge jobs resume`.",
    )
    run.set_defaults(func=command)
    run.add_argument(
        "action",
        choices=JOB_ACTIONS,
        help="the API's action name, or stems_only (split the clip, generate nothing)",
    )
    source = run.add_argument_group("source audio (every action but create_music)")
    source.add_argument("--clip", type=Path, help="local audio file to upload (at most 4 minutes)")
    source.add_argument("--audio-id", help="use audio the service already has, instead of --clip")
    prompts = run.add_argument_group("prompts")
    prompts.add_argument(
        "--prompt",
        dest="prompts",
        action=_NewPrompt,
        metavar="TEXT",
        help="a style prompt; repeat for several (create_music takes up to 4)",
    )
    prompts.add_argument(
        "--strength",
        dest="strength",
        action=_PromptSetting,
        type=float,
        help=f"strength of the prompt before it (default {DEFAULT_STRENGTH}; "
        "-1..1 for create_music, negative = avoid; 0.2..1 otherwise)",
    )
    prompts.add_argument(
        "--range",
        dest="range",
        action=_PromptSetting,
        type=_time_range,
        metavar="START:END",
        help="seconds the prompt before it applies to (create_music only)",
    )
    common = run.add_argument_group("common fields")
    common.add_argument("--model", help="model name (default: models.default in the config)")
    lyrics = common.add_mutually_exclusive_group()
    lyrics.add_argument("--lyrics", help="lyrics text, with section tags such as [Verse]")
    lyrics.add_argument("--lyrics-file", type=Path, help="read the lyrics from a UTF-8 file")
    common.add_argument("--title", help="title, at most 80 characters")
    common.add_argument("--seed", type=int, help="seed, for repeatable results")
    common.add_argument("--lyrics-strength", type=float, help="lyrics influence, 0..1")
    common.add_argument("--weirdness", type=float, help="creativity, 0..1")
    common.add_argument(
        "--instrumental", action="store_true", default=None, help="generate an instrumental only"
    )
    own = run.add_argument_group("fields of one action")
    own.add_argument("--start", type=float, help="replace_music: section start (s, in the clip)")
    own.add_argument("--end", type=float, help="replace_music: section end (s, in the clip)")
    own.add_argument("--continue-at", type=float, help="extend_music: where to continue (s)")
    own.add_argument("--duration", type=float, help="extend_music: seconds to add")
    own.add_argument("--cover-strength", type=float, help="cover_music: how much to change, 0..1")
    own.add_argument("--cover-art-url", help="cover_music: optional cover art image URL")
    output = run.add_argument_group("output")
    output.add_argument(
        "--project",
        "--out",
        dest="project",
        type=Path,
        help="project folder; results go into its ProducerBridge folder (default: output.dir)",
    )
    output.add_argument(
        "--sample-rate", type=int, help="project sample rate in Hz (default: the result's own)"
    )
    output.add_argument(
        "--format",
        choices=FETCH_FORMATS,
        help="what to fetch from the service before conversion to WAV (default output.format)",
    )
    output.add_argument(
        "--stems",
        action="store_true",
        default=None,
        help="also fetch stems: vocals, drums, bass and other (acedata: vocals, instrumental)",
    )
    timeline = run.add_argument_group(
        "timeline (where the clip sits in the project; results are placed to match)"
    )
    timeline.add_argument(
        "--position", type=float, default=0.0, help="item position on the timeline (s)"
    )
    timeline.add_argument(
        "--take-offset", type=float, default=0.0, help="where in the clip file the item starts (s)"
    )
    timeline.add_argument("--playrate", type=float, default=1.0, help="the item's playrate")
    timeline.add_argument(
        "--length", type=float, help="item length on the timeline (s; default: to the file's end)"
    )
    timeline.add_argument(
        "--selection",
        type=_selection,
        metavar="START:END",
        help="time selection on the timeline (s): the section for replace_music, the "
        "continuation point for extend_music, where create_music results go",
    )
    add_backend_options(run)


def build_request(args: argparse.Namespace, config: Config) -> JobRequest:
    """The job from the command line, validated before any network call: a version-1
    request document, judged by `parse_request` as a dropped or sent one would be."""
    from bridge.app import request_defaults
    from bridge.jobs.wire import parse_request
    from bridge.pipeline.admission import judge_clip

    # Where the audio comes from is checked as --clip / --audio-id, in the CLI's own words.
    source = _source_issues(args)
    try:
        request = parse_request(request_document(args, config), request_defaults(config))
    except RequestError as exc:
        issues = [issue for issue in exc.issues if issue.field != "clip"] + source
        raise RequestError(issues or exc.issues) from None
    if source:
        raise RequestError(source)
    if request.clip is not None:  # before any service starts; the runner judges it again
        judge_clip(request, config.audio.context_seconds())
    return request


def request_document(args: argparse.Namespace, config: Config) -> dict[str, Any]:
    """The command line as the request document an OSC sender or a drop file would carry."""
    from bridge.jobs.wire import REQUEST_VERSION

    params = {
        "title": args.title,
        "seed": args.seed,
        "lyricsStrength": args.lyrics_strength,
        "weirdness": args.weirdness,
        "makeInstrumental": args.instrumental,
        "replaceStart": args.start,
        "replaceEnd": args.end,
        "continueAt": args.continue_at,
        "extendDuration": args.duration,
        "coverStrength": args.cover_strength,
        "coverArtUrl": args.cover_art_url,
    }
    project = args.project.expanduser().resolve() if args.project else config.output.folder()
    document: dict[str, Any] = {
        "version": REQUEST_VERSION,
        "action": args.action,
        "model": args.model,
        "prompts": [_prompt(prompt) for prompt in args.prompts or []],
        "lyrics": _lyrics(args),
        "params": _set(params),
        "audioId": args.audio_id,
        "project": {"folder": str(project), "sampleRate": args.sample_rate},
        "options": _set({"stems": args.stems, "format": args.format}),
    }
    if args.clip is not None:
        document["clip"] = {
            "path": str(args.clip.resolve()),
            "itemPosition": args.position,
            "takeOffset": args.take_offset,
            "playrate": args.playrate,
            "length": args.length,
        }
    if args.selection:
        document["selection"] = dict(zip(("start", "end"), args.selection, strict=True))
    return document


def _prompt(prompt: dict[str, Any]) -> dict[str, Any]:
    start, end = prompt["range"] or (None, None)
    return _set(
        {"text": prompt["text"], "strength": prompt["strength"], "timeStart": start, "timeEnd": end}
    )


def _set(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _lyrics(args: argparse.Namespace) -> str | None:
    if args.lyrics_file is None:
        return args.lyrics  # type: ignore[no-any-return]
    try:
        return args.lyrics_file.read_text(encoding="utf-8")  # type: ignore[no-any-return]
    except (OSError, UnicodeDecodeError) as exc:
        raise RequestError(
            [Issue("--lyrics-file", f"cannot read {args.lyrics_file}: {exc}")]
        ) from exc


def _source_issues(args: argparse.Namespace) -> list[Issue]:
    if args.action == CREATE:
        return [Issue("--clip", "create_music takes no clip")] if args.clip else []
    if args.clip and args.audio_id:
        return [Issue("--clip", "give --clip or --audio-id, not both")]
    if not args.clip and not args.audio_id:
        return [Issue("--clip", f"{args.action} needs a source: --clip FILE or --audio-id ID")]
    return []


def command(args: argparse.Namespace, out: Console, err: Console) -> int:
    from bridge.cli.loading import collector_paused

    with collector_paused() as loaded:
        from bridge.cli.args import load_settings

        config = load_settings(args)
        request = build_request(args, config)
        loaded()
        return run_here(request, args, config, out, err)


def execute(args: argparse.Namespace, config: Config, out: Console, err: Console) -> int:
    return run_here(build_request(args, config), args, config, out, err)


def run_here(
    request: JobRequest, args: argparse.Namespace, config: Config, out: Console, err: Console
) -> int:
    """Run one validated job in this process; print the paths written, or why it failed."""
    from bridge.app import open_journal
    from bridge.jobs.state import JobStatus

    with open_journal(config) as journal:
        job = asyncio.run(_execute(request, args, config, journal, err))
    if job.status != JobStatus.COMPLETED:
        err.print(
            f"job {job.short_id} {job.status}: {job.error}\n"
            f"details: producer-bridge jobs show {job.short_id}",
            markup=False,
            highlight=False,
        )
        return 1
    for path in written_paths(job):
        out.print(path, markup=False, highlight=False, soft_wrap=True)
    return 0


def written_paths(job: Job) -> list[str]:
    project = Path(job.request.project)
    files = [*job.facts.written, *([job.facts.manifest] if job.facts.manifest else [])]
    return [str(project / relative) for relative in files]


async def _execute(
    request: JobRequest, args: argparse.Namespace, config: Config, journal: Journal, err: Console
) -> Job:
    from bridge.app import open_runner
    from bridge.cli.backend import service_choice
    from bridge.cli.progress import make_progress

    with make_progress(err) as progress:
        async with open_runner(
            service_choice(args),
            config,
            err,
            journal=journal,
            stage=request.clip is not None,
            progress=lambda job: progress,
            extra_roots=(Path(request.project),),
            wire="httpx",  # one job or a few: the lighter wire to load
        ) as runner:
            job = runner.submit(request)
            finished = await runner.run_until_idle()
    return finished[job.id]
