"""A real S3 endpoint on loopback for tests: moto's server, in this process.

A test module imports ``moto_s3_fixture`` and ``s3_server_fixture`` (which registers the
fixtures ``moto_s3`` and ``s3_server`` there) and asks for ``s3_server``. One moto server runs
per test module (stopping one takes half a second); each test gets it with an empty state,
moto's authentication off, no AWS setting from the developer's machine (``AWS_*`` cleared,
shared files pointed at nothing), and a bucket named ``BUCKET`` created.

moto accepts any credentials unless ``require_auth()`` turns its IAM checks on; it does not
enforce the expiry of presigned URLs.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from bridge.config import S3Settings

BUCKET = "producer-clips"
REGION = "us-east-1"
ACCESS_KEY_ID = "testing"
# Fake, and distinctive, so that a leak into a log line or a message is easy to find.
SECRET_ACCESS_KEY = "moto-secret-7f3a9c1e"

_ALLOW_ALL = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}'  # noqa: E501
# werkzeug's access log line: '... "GET /bucket/key?query HTTP/1.1" 200 -'
_ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<target>\S+) HTTP/[0-9.]+" (?P<status>\d{3})')


class _AccessLog(logging.Handler):
    """Remembers (method, target, status) of each request moto's server answered."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, str, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        match = _ACCESS.search(record.getMessage())
        if match:
            self.requests.append((match["method"], match["target"], int(match["status"])))


class MotoS3:
    """moto's S3 server on 127.0.0.1, with an admin client for arranging and inspecting."""

    def __init__(self) -> None:
        self._log = _AccessLog()
        werkzeug = logging.getLogger("werkzeug")
        # werkzeug adds its own stderr handler to a logger without one; ours stands in for it.
        self._werkzeug_level = werkzeug.level
        werkzeug.setLevel(logging.INFO)
        werkzeug.addHandler(self._log)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        self._admin = self._client(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
        self._closed = False

    def settings(self, **changes: Any) -> S3Settings:
        """Settings for a stager on this server (path-style, fake keys), with `changes`."""
        values: dict[str, Any] = {
            "bucket": BUCKET,
            "endpoint_url": self.endpoint_url,
            "region": REGION,
            "addressing_style": "path",
            "access_key_id": ACCESS_KEY_ID,
            "secret_access_key": SecretStr(SECRET_ACCESS_KEY),
        }
        values.update(changes)
        return S3Settings(**values)

    def create_bucket(self, name: str = BUCKET) -> str:
        self._admin.create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str = BUCKET) -> list[str]:
        answer = self._admin.list_objects_v2(Bucket=bucket)
        return [item["Key"] for item in answer.get("Contents", [])]

    def head(self, key: str, bucket: str = BUCKET) -> dict[str, Any]:
        answer: dict[str, Any] = self._admin.head_object(Bucket=bucket, Key=key)
        return answer

    def presigned_gets(self, key: str) -> int:
        """How many GETs of `key` by presigned URL (not by an SDK) were answered 200."""
        path = f"/{BUCKET}/{key}?"
        return sum(
            1
            for method, target, status in self._log.requests
            if method == "GET" and target.startswith(path) and "X-Amz-Signature=" in target
            if status == 200
        )

    def require_auth(self) -> tuple[str, str]:
        """Turns moto's IAM checks on: only the returned (key id, secret) of a user allowed
        s3:* is accepted from now on (the admin client switches to it). Off after the test.

        moto then also refuses presigned GETs (it looks for an Authorization header)."""
        iam = self._client(ACCESS_KEY_ID, SECRET_ACCESS_KEY, service="iam")
        try:
            iam.create_user(UserName="bridge")
            iam.put_user_policy(UserName="bridge", PolicyName="s3", PolicyDocument=_ALLOW_ALL)
            key = iam.create_access_key(UserName="bridge")["AccessKey"]
        finally:
            iam.close()
        self._moto_api("reset-auth", b"0")
        self._admin.close()
        self._admin = self._client(key["AccessKeyId"], key["SecretAccessKey"])
        return str(key["AccessKeyId"]), str(key["SecretAccessKey"])

    def reset(self) -> None:
        """Authentication off, every bucket and IAM user gone, the access log emptied."""
        self._moto_api("reset-auth", b"inf")
        self._moto_api("reset", b"")
        self._admin.close()
        self._admin = self._client(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
        self._log.requests.clear()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._admin.close()
        self._server.stop()
        werkzeug = logging.getLogger("werkzeug")
        werkzeug.removeHandler(self._log)
        werkzeug.setLevel(self._werkzeug_level)

    def __enter__(self) -> MotoS3:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _moto_api(self, name: str, body: bytes) -> None:
        with httpx.Client() as http:
            http.post(f"{self.endpoint_url}/moto-api/{name}", content=body).raise_for_status()

    def _client(self, key_id: str, secret: str, *, service: str = "s3") -> Any:
        session = boto3.session.Session(
            aws_access_key_id=key_id, aws_secret_access_key=secret, region_name=REGION
        )
        config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
        return session.client(service, endpoint_url=self.endpoint_url, config=config)


def isolate_from_aws_setup(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """No credentials, profile, region or endpoint of the developer's machine reach boto3,
    and no instance-metadata endpoint is probed for credentials."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(folder / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(folder / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def resolve_localhost_subdomains(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolve ``<anything>.localhost`` to 127.0.0.1 (RFC 6761; systemd-resolved and browsers
    do it, glibc alone does not), so that virtual-hosted URLs reach moto on loopback."""
    resolve = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(scope="module", name="moto_s3")
def moto_s3_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    """The module's one server: started before any test's leak check, stopped after all."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate_from_aws_setup(monkeypatch, tmp_path_factory.mktemp("aws"))
        with MotoS3() as server:
            yield server


@pytest.fixture(name="s3_server")
def s3_server_fixture(
    moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[MotoS3]:
    """The module's moto server, empty but for ``BUCKET``, for this test alone."""
    isolate_from_aws_setup(monkeypatch, tmp_path)
    moto_s3.create_bucket()
    try:
        yield moto_s3
    finally:
        moto_s3.reset()
