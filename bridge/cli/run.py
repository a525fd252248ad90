"""`producer-bridge run ACTION`: one action on one clip, end to end."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from bridge.api import AudioRequest, PollPlan, ProducerClient, RetryPolicy, Sound, make_http_client
from bridge.api.models import ACTIONS, CREATE, DOWNLOAD_FORMATS, VIDEO_PRESETS
from bridge.audio import probe
from bridge.cli.progress import make_progress
from bridge.config import Config
from bridge.emulator.server import BANNER, EmulatorServer
from bridge.errors import Issue, RequestError, StagingError
from bridge.runner import RunSpec, check_against_clip, run_action
from bridge.staging import LocalHttpStager
from bridge.staging.local import is_loopback_url

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


def add_run_parser(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="run one Producer action on a local clip and write the WAV files",
        description="Run one action end to end: stage and upload the clip, generate, "
        "download the result (and stems), and print the paths written.",
    )
    run.add_argument("action", choices=ACTIONS, help="the API's action name")
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
    output.add_argument("--format", choices=DOWNLOAD_FORMATS, help="result format (default wav)")
    output.add_argument(
        "--stems",
        action="store_true",
        default=None,
        help="also fetch vocals, drums, bass and other stems",
    )
    output.add_argument("--video", choices=VIDEO_PRESETS, help="also fetch a video (mp4)")
    output.add_argument("--out", type=Path, help="folder for results (default: output.dir)")
    backend = run.add_argument_group("service")
    backend.add_argument(
        "--api-url",
        help="API base URL (default: api.url, or the built-in emulator when no API key is set)",
    )
    backend.add_argument(
        "--emulator",
        action="store_true",
        help="use the built-in emulator even when an API key is set",
    )


def build_spec(args: argparse.Namespace, config: Config) -> RunSpec:
    """The request and options from the command line, validated before any network call."""
    request = AudioRequest(
        action=args.action,
        model=args.model or config.models.default,
        sounds=tuple(_sounds(args.prompts or [])),
        audio_id=args.audio_id,
        lyrics=_lyrics(args),
        title=args.title,
        lyrics_strength=args.lyrics_strength,
        weirdness=args.weirdness,
        seed=args.seed,
        make_instrumental=args.instrumental,
        continue_at=args.continue_at,
        extend_duration=args.duration,
        replace_start=args.start,
        replace_end=args.end,
        cover_strength=args.cover_strength,
        cover_art_url=args.cover_art_url,
    )
    # Where the audio comes from is checked as --clip / --audio-id, in the CLI's own words.
    issues = request.issues(config.models.known(), needs_audio_id=False)
    issues += _source_issues(args)
    if issues:
        raise RequestError(issues)
    if args.clip is not None:
        check_against_clip(request, probe(args.clip))
    return RunSpec(
        request=request,
        out_dir=args.out or Path(config.output.dir),
        clip=args.clip,
        fmt=args.format or config.output.format,
        stems=config.output.stems if args.stems is None else args.stems,
        video=args.video,
    )


def _sounds(prompts: Sequence[dict[str, Any]]) -> Iterator[Sound]:
    for prompt in prompts:
        start, end = prompt["range"] or (None, None)
        strength = DEFAULT_STRENGTH if prompt["strength"] is None else prompt["strength"]
        yield Sound(prompt["text"], strength, start, end)


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


def execute(args: argparse.Namespace, config: Config, out: Console, err: Console) -> int:
    spec = build_spec(args, config)
    record = asyncio.run(_execute(spec, args, config, err))
    for path in record.files:
        out.print(path, markup=False, highlight=False, soft_wrap=True)
    return 0


async def _execute(spec: RunSpec, args: argparse.Namespace, config: Config, err: Console) -> Any:
    with contextlib.ExitStack() as stack:
        url, key = _backend(args, config, stack, err)
        stager = None
        if spec.clip is not None:
            stager = stack.enter_context(_stager(config))
            _check_reachable(stager, url)
        api = config.api
        async with make_http_client(
            connect_timeout=api.connect_timeout,
            read_timeout=api.read_timeout,
            max_connections=api.max_connections,
        ) as http:
            client = ProducerClient(
                http,
                base_url=url,
                api_key=key,
                retry=RetryPolicy(api.max_attempts, api.retry_base, api.retry_cap),
                poll_plan=PollPlan(**config.polling.model_dump()),
            )
            with make_progress(err) as progress:
                return await run_action(client, stager, spec, progress)


def _backend(
    args: argparse.Namespace, config: Config, stack: contextlib.ExitStack, err: Console
) -> tuple[str, str]:
    """(base URL, key): the hosted API, a given URL, or an emulator started here."""
    key = config.api.key.get_secret_value()
    if args.emulator or (not key and not args.api_url):
        settings = config.emulator.model_copy(update={"port": 0, "host": "127.0.0.1"})
        emulator = stack.enter_context(EmulatorServer(settings, models=config.models))
        reason = "--emulator given" if args.emulator else "no API key set"
        err.print(
            f"{reason}: using the built-in emulator at {emulator.url}", markup=False, soft_wrap=True
        )
        err.print(BANNER, markup=False, style="dim", soft_wrap=True)
        return emulator.url, emulator.token
    if args.api_url and not key:
        # A URL without a key is most likely a local `producer-bridge emulator`.
        return args.api_url, config.emulator.token
    return args.api_url or config.api.url, key


def _stager(config: Config) -> LocalHttpStager:
    staging = config.staging
    return LocalHttpStager(
        host=staging.host,
        port=staging.port,
        public_base_url=staging.public_base_url,
        ttl=staging.ttl,
    )


def _check_reachable(stager: LocalHttpStager, api_url: str) -> None:
    if stager.reachable_only_here and not is_loopback_url(api_url):
        raise StagingError(
            f"the service at {api_url} cannot fetch clips from {stager.base_url} (this machine "
            "only): expose the stager through a tunnel or reverse proxy and set "
            "staging.public_base_url, or pass --audio-id for audio the service already has"
        )
