"""The S3 stager against a real S3 endpoint (moto's server) over loopback: upload, presigned
fetch, both addressing styles, cleanup, every refusal with its fix, and a whole job whose clip
the emulator fetches from the bucket.

What moto cannot do is faked at the boundary, with botocore's Stubber, and says so."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from botocore.stub import Stubber
from pydantic import SecretStr

from bridge.config import S3Settings, StagingSettings
from bridge.emulator.server import EmulatorServer
from bridge.errors import StagingError
from bridge.jobs import ClipPlacement, JobRequest, validate_request
from bridge.jobs.request import AudioRequest, Sound
from bridge.jobs.state import JobStatus
from bridge.staging import (
    LocalHttpStager,
    S3Stager,
    StagedClip,
    make_stager,
    reachable_only_here,
    stager_base_url,
)
from tests.conftest import pipeline_runner
from tests.s3_server import (
    BUCKET,
    SECRET_ACCESS_KEY,
    MotoS3,
    isolate_from_aws_setup,
    moto_s3_fixture,  # noqa: F401 - registers the fixture moto_s3 (behind s3_server)
    resolve_localhost_subdomains,
    s3_server_fixture,  # noqa: F401 - registers the fixture s3_server
)


@pytest.fixture(autouse=True)
def no_aws_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Not even the tests without a server see the developer's AWS files or environment."""
    isolate_from_aws_setup(monkeypatch, tmp_path)


def fetch(url: str) -> httpx.Response:
    with httpx.Client(timeout=5.0) as http:
        return http.get(url)


def errors_text(exc: BaseException) -> str:
    """The error and every error it was raised from: all of it may end up in a log."""
    texts = []
    current: BaseException | None = exc
    while current is not None:
        texts.append(str(current))
        current = current.__cause__ or current.__context__
    return "\n".join(texts)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class StubbedSession:
    """A boto3 session whose clients answer from botocore's Stubber: for what moto cannot
    be made to answer (a bucket in another region, a refused delete)."""

    made: ClassVar[list[StubbedSession]] = []

    def __init__(self, **kwargs: Any) -> None:
        self._session = boto3.session.Session(**kwargs)
        StubbedSession.made.append(self)

    def client(self, *args: Any, **kwargs: Any) -> Any:
        client = self._session.client(*args, **kwargs)
        self.stubber = Stubber(client)
        self.stubber.activate()
        return client


def aws_stager(**changes: Any) -> tuple[S3Stager, Stubber]:
    settings = S3Settings(
        bucket=BUCKET,
        region="us-east-1",
        access_key_id="AKIAFAKEFAKEFAKE",
        secret_access_key=SecretStr(SECRET_ACCESS_KEY),
        **changes,
    )
    stager = S3Stager(settings, session_factory=StubbedSession)
    return stager, StubbedSession.made[-1].stubber


# Staging and fetching --------------------------------------------------------------------


def test_a_staged_clip_is_fetched_whole_by_its_presigned_url(
    s3_server: MotoS3, tone: Callable[..., Path]
) -> None:
    source = tone(1.0)
    with S3Stager(s3_server.settings()) as stager:
        clip = stager.stage(source)
        answer = fetch(clip.url)
    assert answer.status_code == 200
    assert answer.content == source.read_bytes()
    assert answer.headers["content-type"] == "audio/wav"
    url = urlsplit(clip.url)
    # Path style: endpoint/bucket/key, and the key keeps the name and its extension.
    assert f"{url.scheme}://{url.netloc}" == s3_server.endpoint_url
    assert url.path == f"/{BUCKET}/{clip.token}"
    assert clip.token.startswith("producer-bridge/")
    assert clip.token.endswith("/clip.wav")
    assert s3_server.keys() == [clip.token]
    assert clip.path == source.resolve()


def test_virtual_hosted_addressing_names_the_bucket_in_the_host(
    s3_server: MotoS3, tone: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # botocore never puts a bucket in front of an IP address (it falls back to path style),
    # so the endpoint is "localhost" and <bucket>.localhost is resolved to 127.0.0.1 here, as
    # RFC 6761 says it should be; moto then finds the bucket from the Host header.
    resolve_localhost_subdomains(monkeypatch)
    endpoint = s3_server.endpoint_url.replace("127.0.0.1", "localhost")
    source = tone(0.5)
    settings = s3_server.settings(endpoint_url=endpoint, addressing_style="virtual")
    with S3Stager(settings) as stager:
        clip = stager.stage(source)
        answer = fetch(clip.url)
    url = urlsplit(clip.url)
    assert url.hostname == f"{BUCKET}.localhost"
    assert url.path == f"/{clip.token}"
    assert answer.status_code == 200
    assert answer.content == source.read_bytes()


def test_auto_addressing_uses_path_style_for_an_ip_endpoint(
    s3_server: MotoS3, tone: Callable[..., Path]
) -> None:
    with S3Stager(s3_server.settings(addressing_style="auto")) as stager:
        clip = stager.stage(tone(0.5))
        assert fetch(clip.url).status_code == 200
    assert urlsplit(clip.url).path == f"/{BUCKET}/{clip.token}"


def test_a_file_name_becomes_a_plain_ascii_key_that_keeps_its_extension(
    s3_server: MotoS3, tone: Callable[..., Path]
) -> None:
    source = tone(0.5, name="Café déjà vu (take 2).flac")
    with S3Stager(s3_server.settings(prefix="clips/")) as stager:
        clip = stager.stage(source)
        assert fetch(clip.url).content == source.read_bytes()
    assert clip.token.startswith("clips/")
    assert clip.token.endswith("/Cafe_deja_vu_take_2.flac")
    assert s3_server.head(clip.token)["ContentType"] == "audio/flac"


def test_the_link_lasts_the_configured_time(s3_server: MotoS3, tone: Callable[..., Path]) -> None:
    # moto does not enforce the expiry of presigned URLs (a GET after X-Amz-Expires still
    # gets 200), so the 403 that S3 gives then cannot be shown here; what the stager
    # controls is: the lifetime signed into the URL, and the expiry it reports.
    with S3Stager(s3_server.settings(expires=1), now=lambda: 1000.0) as stager:
        clip = stager.stage(tone(0.5))
    query = parse_qs(urlsplit(clip.url).query)
    assert query["X-Amz-Expires"] == ["1"]
    signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs(signed.timestamp() - time.time()) < 60
    assert clip.expires_at == 1001.0


# Cleanup --------------------------------------------------------------------------------


def test_unstage_deletes_the_clip_when_cleanup_is_delete(
    s3_server: MotoS3, tone: Callable[..., Path]
) -> None:
    with S3Stager(s3_server.settings(cleanup="delete")) as stager:
        clip = stager.stage(tone(0.5))
        stager.unstage(clip)
        stager.unstage(clip)  # twice, or after a lifecycle rule: nothing to say
        assert s3_server.keys() == []
        assert fetch(clip.url).status_code == 404


def test_unstage_leaves_the_clip_to_the_bucket_when_cleanup_is_lifecycle(
    s3_server: MotoS3, tone: Callable[..., Path]
) -> None:
    with S3Stager(s3_server.settings(cleanup="lifecycle")) as stager:
        clip = stager.stage(tone(0.5))
        stager.unstage(clip)
        assert s3_server.keys() == [clip.token]
        assert fetch(clip.url).status_code == 200


def test_unstage_ignores_a_clip_it_did_not_stage(
    s3_server: MotoS3, tone: Callable[..., Path]
) -> None:
    with S3Stager(s3_server.settings()) as stager:
        mine = stager.stage(tone(0.5))
        stager.unstage(
            StagedClip(mine.path, mine.url, token="producer-bridge/notes.txt", expires_at=0)
        )
        stager.unstage(StagedClip(mine.path, mine.url, token="local-token", expires_at=0))
        assert s3_server.keys() == [mine.token]


def test_a_refused_delete_is_logged_and_never_fails_the_job(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # moto's delete answers 204 whatever the key: the refusal is faked with the Stubber.
    stager, stubber = aws_stager()
    key = "producer-bridge/" + "0" * 32 + "/clip.wav"
    clip = StagedClip(Path("clip.wav"), "https://example.invalid/x", key, expires_at=0)
    stubber.add_client_error(
        "delete_object",
        "AccessDenied",
        "Access Denied",
        403,
        expected_params={"Bucket": BUCKET, "Key": key},
    )
    stubber.add_client_error("delete_object", "NoSuchKey", "gone", 404)
    with stager, caplog.at_level(logging.WARNING, logger="bridge.staging.s3"):
        stager.unstage(clip)
        stager.unstage(clip)  # already gone: not worth a warning
    (warning,) = caplog.records
    assert f"cannot delete s3://{BUCKET}/{key}" in warning.getMessage()
    assert "refused these credentials (AccessDenied)" in warning.getMessage()
    stubber.assert_no_pending_responses()


# Refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("which", "code"),
    [("unknown key", "InvalidAccessKeyId"), ("wrong secret", "SignatureDoesNotMatch")],
)
def test_credentials_the_bucket_refuses_name_the_settings_to_fix(
    s3_server: MotoS3, tone: Callable[..., Path], which: str, code: str
) -> None:
    key_id, _ = s3_server.require_auth()
    wrong = "AKIANOBODYKNOWS1" if which == "unknown key" else key_id
    settings = s3_server.settings(
        access_key_id=wrong, secret_access_key=SecretStr("not-the-secret")
    )
    with S3Stager(settings) as stager:
        with pytest.raises(StagingError) as staging:
            stager.stage(tone(0.5))
        with pytest.raises(StagingError) as checking:
            stager.check()
    assert staging.value.message == (
        f"cannot stage clip.wav: the bucket {BUCKET} at {s3_server.endpoint_url} refused these "
        f"credentials ({code}): check staging.s3.access_key_id/secret_access_key, the AWS "
        "profile or AWS_* environment"
    )
    # A HEAD answer has no body, hence no error code: only its status says "refused".
    assert "refused these credentials (403)" in checking.value.message
    assert s3_server.keys() == []


def test_the_right_credentials_pass_when_the_bucket_checks_them(s3_server: MotoS3) -> None:
    key_id, secret = s3_server.require_auth()
    settings = s3_server.settings(access_key_id=key_id, secret_access_key=SecretStr(secret))
    with S3Stager(settings) as stager:
        stager.check()


def test_a_missing_bucket_is_named_with_the_fix(
    s3_server: MotoS3, tone: Callable[..., Path]
) -> None:
    with S3Stager(s3_server.settings(bucket="no-such-bucket")) as stager:
        with pytest.raises(StagingError) as staging:
            stager.stage(tone(0.5))
        with pytest.raises(StagingError) as checking:
            stager.check()
    reason = (
        f"bucket no-such-bucket does not exist at {s3_server.endpoint_url}: "
        "create it or fix staging.s3.bucket"
    )
    assert staging.value.message == f"cannot stage clip.wav: {reason}"
    assert checking.value.message == f"cannot use bucket no-such-bucket: {reason}"


def test_an_unreachable_endpoint_is_reported_quickly(tone: Callable[..., Path]) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    settings = S3Settings(
        bucket=BUCKET,
        endpoint_url=endpoint,
        region="us-east-1",
        access_key_id="testing",
        secret_access_key=SecretStr(SECRET_ACCESS_KEY),
    )
    source = tone(0.5)
    started = time.monotonic()
    with S3Stager(settings) as stager, pytest.raises(StagingError) as refused:
        stager.stage(source)
    # Three attempts with standard backoff: at most 1 + 2 s of waiting.
    assert time.monotonic() - started < 5.0
    assert refused.value.message == (
        f"cannot stage clip.wav: cannot reach {endpoint}: "
        "check staging.s3.endpoint_url and the network"
    )


def test_no_credentials_anywhere_says_where_to_put_them(
    s3_server: MotoS3, tone: Callable[..., Path]
) -> None:
    settings = s3_server.settings(access_key_id="", secret_access_key=SecretStr(""))
    with S3Stager(settings) as stager, pytest.raises(StagingError) as refused:
        stager.stage(tone(0.5))
    assert "no AWS credentials found: set staging.s3.profile" in refused.value.message


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"profile": "nowhere", "access_key_id": "", "secret_access_key": SecretStr("")},
            "AWS profile 'nowhere' not found",
        ),
        ({"access_key_id": ""}, "set both staging.s3.access_key_id and"),
        ({"secret_access_key": SecretStr("")}, "set both staging.s3.access_key_id and"),
        ({"profile": "studio"}, "set either staging.s3.profile or"),
    ],
)
def test_unusable_credential_settings_are_refused_before_any_request(
    s3_server: MotoS3, changes: dict[str, Any], expected: str
) -> None:
    with pytest.raises(StagingError, match=expected):
        S3Stager(s3_server.settings(**changes))


def test_a_file_that_cannot_be_read_is_named(s3_server: MotoS3, tmp_path: Path) -> None:
    with S3Stager(s3_server.settings()) as stager:
        with pytest.raises(StagingError, match=r"cannot stage .*gone\.wav: No such file"):
            stager.stage(tmp_path / "gone.wav")
        with pytest.raises(StagingError, match=r"not a file|Is a directory"):
            stager.stage(tmp_path)
        stager.close()
        stager.close()
        with pytest.raises(StagingError, match="closed"):
            stager.stage(tmp_path / "gone.wav")
    assert s3_server.keys() == []


def test_doctor_says_when_an_aws_bucket_is_in_another_region() -> None:
    # moto answers every region: a bucket elsewhere is faked with the Stubber.
    stager, stubber = aws_stager()
    stubber.add_response("head_bucket", {"BucketRegion": "eu-west-1"}, {"Bucket": BUCKET})
    stubber.add_response("head_bucket", {"BucketRegion": "us-east-1"}, {"Bucket": BUCKET})
    with stager:
        with pytest.raises(StagingError) as refused:
            stager.check()
        stager.check()
    assert refused.value.message == (
        f"bucket {BUCKET} is in eu-west-1 but links would be signed for us-east-1: "
        'set staging.s3.region = "eu-west-1"'
    )


def test_secrets_appear_in_no_log_line_and_no_message(
    s3_server: MotoS3, tone: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    key_id, secret = s3_server.require_auth()  # before capturing: its answer holds a secret
    caplog.set_level(logging.DEBUG)  # botocore's debug output too
    source = tone(0.5)
    right = s3_server.settings(access_key_id=key_id, secret_access_key=SecretStr(secret))
    with S3Stager(right) as stager:
        stager.unstage(stager.stage(source))
    wrong = "wrong-secret-5b1d2e"
    settings = s3_server.settings(access_key_id=key_id, secret_access_key=SecretStr(wrong))
    with S3Stager(settings) as stager:
        with pytest.raises(StagingError) as staging:
            stager.stage(source)
        with pytest.raises(StagingError) as checking:
            stager.check()
    texts = [errors_text(staging.value), errors_text(checking.value)]
    texts += [record.getMessage() for record in caplog.records]
    assert any("botocore" in record.name for record in caplog.records)
    for text in texts:
        for value in (SECRET_ACCESS_KEY, wrong, secret):
            assert value not in text
    assert s3_server.keys() == []


# The stager in the bridge --------------------------------------------------------------


async def test_a_job_s_clip_is_fetched_from_the_bucket_by_the_service_and_then_deleted(
    s3_server: MotoS3, emulator: EmulatorServer, tone: Callable[..., Path], tmp_path: Path
) -> None:
    source = tone(4.0)
    audio = AudioRequest("cover_music", "FUZZ-2.0", (Sound("strings", 0.5),), cover_strength=0.5)
    request = JobRequest(audio, str(tmp_path / "song"), 48000, ClipPlacement(str(source)))
    request = validate_request(request, ("FUZZ-2.0",))
    with S3Stager(s3_server.settings()) as stager:
        async with pipeline_runner(emulator, tmp_path, stager=stager, max_running=1) as runner:
            job = runner.submit(request)
            finished = (await runner.run_until_idle())[job.id]
    assert finished.status == JobStatus.COMPLETED, finished.error
    staged_url = finished.facts.staged_url
    assert staged_url is not None
    key = urlsplit(staged_url).path.removeprefix(f"/{BUCKET}/")
    assert key.startswith("producer-bridge/")
    assert s3_server.presigned_gets(key) == 1  # the emulator, from its own HTTP client
    assert s3_server.keys() == []


# The factory ----------------------------------------------------------------------------


def test_the_factory_builds_the_configured_stager_and_says_where_it_serves(
    s3_server: MotoS3,
) -> None:
    with make_stager(StagingSettings(kind="s3", s3=s3_server.settings())) as stager:
        assert isinstance(stager, S3Stager)
        assert stager_base_url(stager) == (
            f"s3://{BUCKET}/producer-bridge/ at {s3_server.endpoint_url}"
        )
        assert reachable_only_here(stager)  # moto, like MinIO on a laptop, is on loopback
    with make_stager(StagingSettings()) as local:
        assert isinstance(local, LocalHttpStager)
        assert reachable_only_here(local)
        assert stager_base_url(local) == local.base_url
    public = StagingSettings(public_base_url="https://clips.example.net")
    with make_stager(public) as local:
        assert not reachable_only_here(local)


def test_a_bucket_on_aws_is_reachable_from_anywhere() -> None:
    stager, _ = aws_stager()
    with stager:
        assert not reachable_only_here(stager)
        assert stager_base_url(stager) == (
            f"s3://{BUCKET}/producer-bridge/ at https://s3.amazonaws.com"
        )


def test_run_stages_through_the_bucket_when_the_config_says_s3(
    s3_server: MotoS3, emulator: EmulatorServer, jobs_config: Path, tone: Callable[..., Path]
) -> None:
    """`producer-bridge run` end to end with staging.kind = "s3": the emulator fetches the
    clip by its presigned URL, and the object is gone once the upload task has ended."""
    s3_server.create_bucket()
    settings = s3_server.settings()
    secret = settings.secret_access_key.get_secret_value()
    jobs_config.write_text(
        jobs_config.read_text()
        + f'\n[staging]\nkind = "s3"\n[staging.s3]\nbucket = "{settings.bucket}"\n'
        f'endpoint_url = "{settings.endpoint_url}"\nregion = "{settings.region}"\n'
        f'addressing_style = "path"\naccess_key_id = "{settings.access_key_id}"\n'
        f'secret_access_key = "{secret}"\n'
    )
    project = jobs_config.parent / "project"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bridge",
            "--config",
            str(jobs_config),
            "run",
            "cover_music",
            "--clip",
            str(tone(3.0)),
            "--prompt",
            "bossa nova",
            "--project",
            str(project),
            "--api-url",
            emulator.url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert any(line.endswith("manifest.json") for line in run.stdout.splitlines())
    assert s3_server.keys() == []  # deleted after the service fetched it
    assert secret not in run.stderr


def test_s3_staging_without_boto3_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As on a machine where `pip install producer-bridge` left out the s3 extra.
    monkeypatch.setitem(sys.modules, "boto3", None)
    monkeypatch.delitem(sys.modules, "bridge.staging.s3")
    settings = StagingSettings(kind="s3", s3=S3Settings(bucket="clips"))
    with pytest.raises(StagingError, match=r'needs boto3.*pip install "producer-bridge\[s3\]"'):
        make_stager(settings)
