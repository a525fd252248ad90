"""Staging clips in an S3-compatible bucket (AWS, Cloudflare R2, MinIO, Backblaze B2).

Each clip is uploaded under its own key below ``staging.s3.prefix`` and handed to the service
as a presigned GET URL, so nothing on this machine has to be reachable from outside. Once the
upload task has finished the key is deleted, or left to a lifecycle rule on the prefix.

Every boto3/botocore error is translated here into a ``StagingError`` that names the bucket,
the endpoint and the setting to fix. Secrets never reach a message or a log line.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3  # type: ignore[import-untyped]
from boto3.exceptions import S3UploadFailedError  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from bridge.config import S3Settings
from bridge.errors import StagingError, register_secret
from bridge.net import is_loopback
from bridge.resources import Closeable
from bridge.staging.base import StagedClip

log = logging.getLogger(__name__)

CONTENT_TYPES: Mapping[str, str] = {
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".aif": "audio/aiff",
    ".aiff": "audio/aiff",
}

# Error codes, as S3 and its look-alikes send them (a HEAD answer has no body, hence "403").
_REFUSED = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "ExpiredToken",
        "Forbidden",
        "InvalidAccessKeyId",
        "InvalidToken",
        "SignatureDoesNotMatch",
        "403",
    }
)
_NO_BUCKET = frozenset({"NoSuchBucket", "NotFound", "404"})
_WRONG_REGION = frozenset({"AuthorizationHeaderMalformed", "PermanentRedirect", "301"})
_NO_CREDENTIALS = (
    "no AWS credentials found: set staging.s3.profile, or staging.s3.access_key_id and "
    "secret_access_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment"
)


def content_type(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")


def safe_name(path: Path) -> str:
    """The file name as ASCII letters, digits, ``.``, ``_`` and ``-``, extension kept.

    Non-ASCII names survive presigning, but not every S3 look-alike nor every fetcher quotes
    them the same way; a plain name removes that whole class of "signature mismatch"."""
    ascii_stem = unicodedata.normalize("NFKD", path.stem).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_stem).strip("._-")[:64] or "clip"
    extension = re.sub(r"[^a-z0-9]+", "", path.suffix.lower())
    return f"{stem}.{extension}" if extension else stem


class S3Stager(Closeable):
    """Uploads each staged clip to ``s3://bucket/prefix<random>/<name>``; hands out a
    presigned URL valid for ``settings.expires`` seconds."""

    def __init__(
        self,
        settings: S3Settings,
        *,
        session_factory: Callable[..., Any] = boto3.session.Session,
        now: Callable[[], float] = time.time,
    ) -> None:
        if not settings.bucket:
            raise StagingError("staging.s3.bucket is not set: name the bucket clips go to")
        self._settings = settings
        self._now = now
        self._closed = False
        self._client = self._make_client(session_factory)
        self._endpoint = settings.endpoint_url or str(self._client.meta.endpoint_url)
        self._keys = re.compile(re.escape(settings.prefix) + r"[0-9a-f]{32}/[A-Za-z0-9._-]+\Z")

    @property
    def bucket(self) -> str:
        return self._settings.bucket

    @property
    def endpoint(self) -> str:
        return self._endpoint

    @property
    def base_url(self) -> str:
        """Where clips go, for messages: ``s3://bucket/prefix at endpoint``."""
        return f"s3://{self.bucket}/{self._settings.prefix} at {self._endpoint}"

    @property
    def reachable_only_here(self) -> bool:
        """True for a bucket served from this machine (MinIO or moto on loopback)."""
        return is_loopback(urlsplit(self._endpoint).hostname or "")

    def stage(self, path: Path) -> StagedClip:
        self._check_open()
        _check_readable(path)
        key = f"{self._settings.prefix}{uuid.uuid4().hex}/{safe_name(path)}"
        try:
            self._client.upload_file(
                str(path), self.bucket, key, ExtraArgs={"ContentType": content_type(path)}
            )
            issued = self._now()
            url = self._client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=self._settings.expires,
            )
        except (BotoCoreError, ClientError, S3UploadFailedError, OSError) as exc:
            raise self._error(f"cannot stage {path.name}", exc) from exc
        log.info(
            "staged %s as s3://%s/%s (link valid %d s)",
            path.name,
            self.bucket,
            key,
            self._settings.expires,
        )
        # A link signed with temporary credentials (SSO, an assumed role) dies with them,
        # whatever `expires` says; the service fetches within seconds, so it rarely matters.
        return StagedClip(
            path=path.resolve(), url=str(url), token=key, expires_at=issued + self._settings.expires
        )

    def unstage(self, clip: StagedClip) -> None:
        """Deletes the clip's key (cleanup "delete"). Never raises: the job's result does not
        depend on it, and a lifecycle rule on the prefix can remove what is left."""
        if self._settings.cleanup != "delete" or not self._keys.match(clip.token):
            return  # left to the bucket's lifecycle rule, or not a clip of this stager
        if self._closed:
            log.warning("s3 stager closed: s3://%s/%s is left in place", self.bucket, clip.token)
            return
        try:
            self._client.delete_object(Bucket=self.bucket, Key=clip.token)
        except (BotoCoreError, ClientError) as exc:
            if isinstance(exc, ClientError) and _code(exc) == "NoSuchKey":
                return
            error = self._error(f"cannot delete s3://{self.bucket}/{clip.token}", exc)
            log.warning("%s; it stays until a lifecycle rule or a person removes it", error)
        else:
            log.debug("deleted s3://%s/%s", self.bucket, clip.token)

    def check(self) -> None:
        """Raises StagingError unless the bucket exists and these credentials may use it."""
        self._check_open()
        try:
            answer = self._client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise self._error(f"cannot use bucket {self.bucket}", exc) from exc
        self._check_region(answer)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._client.close()

    def _make_client(self, session_factory: Callable[..., Any]) -> Any:
        settings = self._settings
        credentials: dict[str, str] = {}
        secret = settings.secret_access_key.get_secret_value()
        if bool(settings.access_key_id) != bool(secret):
            raise StagingError(
                "set both staging.s3.access_key_id and staging.s3.secret_access_key, or neither"
            )
        if settings.access_key_id and settings.profile:
            raise StagingError(
                "set either staging.s3.profile or staging.s3.access_key_id and "
                "secret_access_key, not both"
            )
        if settings.access_key_id:
            register_secret(secret)
            credentials = {"aws_access_key_id": settings.access_key_id}
            credentials["aws_secret_access_key"] = secret
        elif settings.profile:
            credentials = {"profile_name": settings.profile}
        where = {"endpoint_url": settings.endpoint_url} if settings.endpoint_url else {}
        if settings.region:
            where["region_name"] = settings.region
        config = Config(
            s3={"addressing_style": settings.addressing_style},
            signature_version="s3v4",
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
        )
        try:
            return session_factory(**credentials).client("s3", config=config, **where)
        except ProfileNotFound as exc:
            raise StagingError(
                f"AWS profile {settings.profile!r} not found in the shared AWS files: "
                "fix staging.s3.profile or run `aws configure --profile` for it"
            ) from exc
        except (BotoCoreError, ValueError) as exc:
            raise StagingError(
                f"cannot set up the S3 client for bucket {settings.bucket}: {exc}"
            ) from exc

    def _check_open(self) -> None:
        if self._closed:
            raise StagingError("the S3 stager is closed")

    def _check_region(self, answer: Mapping[str, Any]) -> None:
        # Only AWS: R2 says "auto" and MinIO anything. A bucket elsewhere still takes the
        # upload (botocore follows the redirect), but a URL signed for the wrong region is
        # refused when the service fetches it: better said by `doctor` than by a failed job.
        if self._settings.endpoint_url:
            return
        headers = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        actual = answer.get("BucketRegion") or headers.get("x-amz-bucket-region")
        signing = self._client.meta.region_name
        if actual and signing and actual != signing:
            raise StagingError(
                f"bucket {self.bucket} is in {actual} but links would be signed for {signing}: "
                f'set staging.s3.region = "{actual}"'
            )

    def _error(self, doing: str, exc: BaseException) -> StagingError:
        """One message per kind of failure, naming the bucket, the endpoint and the fix."""
        if isinstance(exc, S3UploadFailedError) and isinstance(exc.__context__, ClientError):
            exc = exc.__context__  # boto3 wraps the answer in a message-only error
        bucket, endpoint = self.bucket, self._endpoint
        if isinstance(exc, ClientError):
            code = _code(exc)
            if code in _REFUSED:
                reason = (
                    f"the bucket {bucket} at {endpoint} refused these credentials ({code}): "
                    "check staging.s3.access_key_id/secret_access_key, the AWS profile or "
                    "AWS_* environment"
                )
            elif code in _NO_BUCKET:
                reason = (
                    f"bucket {bucket} does not exist at {endpoint}: "
                    "create it or fix staging.s3.bucket"
                )
            elif code in _WRONG_REGION:
                reason = f"bucket {bucket} is in another region: set staging.s3.region to it"
            else:
                message = exc.response.get("Error", {}).get("Message", "")
                reason = f"{endpoint} answered {code or 'an error'} for bucket {bucket}: {message}"
        elif isinstance(exc, NoCredentialsError | PartialCredentialsError):
            reason = _NO_CREDENTIALS
        elif isinstance(exc, BotoConnectionError | HTTPClientError):
            reason = f"cannot reach {endpoint}: check staging.s3.endpoint_url and the network"
        elif isinstance(exc, OSError) and not isinstance(exc, BotoCoreError):
            reason = f"cannot read the file: {exc.strerror or exc}"
        else:
            reason = f"bucket {bucket} at {endpoint}: {exc}"
        return StagingError(f"{doing}: {reason}")


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _check_readable(path: Path) -> None:
    # Checked before any request so that an unreadable file is not reported as an S3 failure.
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise StagingError(f"cannot stage {path}: {exc.strerror or exc}") from exc
    if not path.is_file():
        raise StagingError(f"cannot stage {path}: not a file")
