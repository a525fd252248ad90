"""The loopback stager: unguessable tokens, expiry, a public base URL, clean shutdown."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bridge.errors import StagingError
from bridge.staging import LocalHttpStager


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_staged_clip_is_served_whole_under_its_token(tone: Callable[..., Path]) -> None:
    path = tone(2.0, name="My Take (final).wav")
    with LocalHttpStager() as stager, httpx.Client() as http:
        clip = stager.stage(path)
        response = http.get(clip.url)
    assert response.status_code == 200
    assert response.content == path.read_bytes()
    assert clip.url.endswith("/clip.wav")  # the extension stays, the user's file name does not
    assert len(clip.token) >= 32


def test_tokens_are_unguessable_and_wrong_ones_get_404(tone: Callable[..., Path]) -> None:
    path = tone(1.0)
    with LocalHttpStager() as stager, httpx.Client() as http:
        first, second = stager.stage(path), stager.stage(path)
        assert first.token != second.token
        assert http.get(f"{stager.base_url}/clips/not-a-token/clip.wav").status_code == 404
        assert http.get(first.url.replace("clip.wav", "clip.mp3")).status_code == 404


def test_an_expired_clip_is_gone(tone: Callable[..., Path]) -> None:
    clock = Clock()
    with LocalHttpStager(ttl=60.0, now=clock) as stager, httpx.Client() as http:
        clip = stager.stage(tone(1.0))
        assert http.get(clip.url).status_code == 200
        clock.now += 61.0
        assert http.get(clip.url).status_code == 410
        assert http.get(clip.url).status_code == 404  # and forgotten


def test_an_unstaged_clip_is_no_longer_served(tone: Callable[..., Path]) -> None:
    with LocalHttpStager() as stager, httpx.Client() as http:
        clip = stager.stage(tone(1.0))
        stager.unstage(clip)
        assert http.get(clip.url).status_code == 404


def test_a_public_base_url_is_what_the_service_is_given(tone: Callable[..., Path]) -> None:
    with LocalHttpStager(public_base_url="https://tunnel.example.net/bridge/") as stager:
        clip = stager.stage(tone(1.0))
        assert clip.url.startswith("https://tunnel.example.net/bridge/clips/")
        assert not stager.reachable_only_here
    with LocalHttpStager() as stager:
        assert stager.reachable_only_here


def test_staging_a_missing_file_says_so(tmp_path: Path) -> None:
    with LocalHttpStager() as stager, pytest.raises(StagingError, match="no such file"):
        stager.stage(tmp_path / "gone.wav")


def test_a_busy_port_is_named_in_the_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(StagingError, match=f"127.0.0.1:{port}"):
            LocalHttpStager(port=port).start()


def test_closing_twice_is_harmless(tone: Callable[..., Path]) -> None:
    stager = LocalHttpStager().start()
    stager.stage(tone(1.0))
    stager.close()
    stager.close()


def test_a_request_before_any_clip_is_staged_is_answered() -> None:
    with LocalHttpStager() as stager, httpx.Client(timeout=5.0) as http:
        assert http.get(f"{stager.base_url}/clips/none/clip.wav").status_code == 404
