"""Secrets: allowlisted headers only, key-bearing query and body fields removed, writes checked."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from cassette_helpers import URL, Upstream, chat_body, fetch, record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_llmbench import secrets
from pytest_llmbench.cassettes import Cassette, CassetteError

KEY = "sk-test-cassette-secret-0123456789"


@contextmanager
def env(**values: str) -> Iterator[None]:
    """Environment variables set for the block (hypothesis examples cannot use monkeypatch)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def file_names(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def echo_upstream(text: str) -> Upstream:
    """An upstream whose answer contains `text` (a server echoing a key back)."""
    body = f'{{"error": "invalid key {text}"}}'.encode()
    return Upstream(lambda request: (200, {"content-type": "application/json"}, [(0, body)]))


def stored_request_headers(path: Path) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = yaml.safe_load(path.read_text())["interactions"][0]["request"][
        "headers"
    ]
    return headers


async def test_only_allowlisted_request_headers_are_stored(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    cassette = Cassette(path, record_mode="once")
    headers = {
        "anthropic-version": "2023-06-01",
        "accept": "text/event-stream",
        "authorization": f"Bearer {KEY}",
        "x-api-key": KEY,
        "api-key": KEY,
        "x-goog-api-key": KEY,
        "cookie": "session=1",
        "openai-organization": "org-1",
        "openai-project": "proj-1",
        "x-amz-date": "20240101T000000Z",
        "x-amz-security-token": "token",
        "x-amz-content-sha256": "abc",
        "x-stainless-lang": "python",
        "user-agent": "test",
    }
    await fetch(cassette.recording_transport(Upstream().transport), headers=headers)
    cassette.save()
    assert set(stored_request_headers(path)) == {
        "accept",
        "anthropic-version",
        "content-type",
    }


async def test_only_allowlisted_response_headers_are_stored(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    headers = {
        "content-type": "application/json",
        "openai-version": "2020-10-01",
        "x-ratelimit-remaining-requests": "99",
        "anthropic-ratelimit-tokens-remaining": "1000",
        "x-amzn-bedrock-output-token-count": "5",
        "retry-after": "1",
        "x-request-id": "req_1",
        "request-id": "req_2",
        "x-amzn-requestid": "req_3",
        "set-cookie": "session=1",
        "openai-organization": "org-1",
        "cf-ray": "abc",
    }
    await record(path, Upstream(lambda request: (200, headers, [(0, b"{}")])))
    stored = yaml.safe_load(path.read_text())["interactions"][0]["response"]["headers"]
    assert set(stored) == {
        "content-type",
        "openai-version",
        "x-ratelimit-remaining-requests",
        "anthropic-ratelimit-tokens-remaining",
        "x-amzn-bedrock-output-token-count",
        "retry-after",
    }


async def test_key_query_parameters_are_removed_from_the_stored_uri(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    cassette = Cassette(path, record_mode="once")
    url = f"{URL}?alt=sse&key={KEY}&X-Amz-Signature=abc"
    await fetch(cassette.recording_transport(Upstream().transport), url=url)
    cassette.save()
    stored = yaml.safe_load(path.read_text())["interactions"][0]["request"]["uri"]
    assert stored == f"{URL}?alt=sse"


async def test_key_body_fields_are_removed_from_the_stored_request(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream(), chat_body(api_key=KEY, key=KEY))
    text = path.read_text()
    assert KEY not in text
    assert '"api_key"' not in text


async def test_a_write_containing_a_configured_key_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMBENCH_TEST_SECRET", KEY)
    path = tmp_path / "c.yaml"
    with pytest.raises(CassetteError) as caught:
        await record(path, echo_upstream(KEY), secret_names=["LLMBENCH_TEST_SECRET"])
    message = str(caught.value)
    assert "LLMBENCH_TEST_SECRET" in message
    assert "interactions[0].response.body.string" in message
    assert KEY not in message
    assert not path.exists()


async def test_a_refused_write_leaves_the_existing_cassette_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream(), chat_body("first"))
    before = path.read_text()
    monkeypatch.setenv("LLMBENCH_TEST_SECRET", KEY)
    with pytest.raises(CassetteError):
        await record(
            path,
            echo_upstream(KEY),
            chat_body("second"),
            mode="new_episodes",
            secret_names=["LLMBENCH_TEST_SECRET"],
        )
    assert path.read_text() == before
    assert file_names(tmp_path) == ["c.yaml"]


async def test_registered_secrets_are_checked_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets, "_values", {})  # the registry is process-wide
    secrets.register("SOME_PROVIDER_KEY", KEY)
    with pytest.raises(CassetteError, match="SOME_PROVIDER_KEY"):
        await record(tmp_path / "c.yaml", echo_upstream(KEY))


@pytest.mark.parametrize(
    "name", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]
)
async def test_aws_credential_values_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "AKIAEXAMPLEEXAMPLE12")
    with pytest.raises(CassetteError, match=name) as caught:
        await record(tmp_path / "c.yaml", echo_upstream("AKIAEXAMPLEEXAMPLE12"))
    assert "AKIAEXAMPLEEXAMPLE12" not in str(caught.value)


async def test_a_key_in_a_binary_body_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMBENCH_TEST_SECRET", KEY)
    frame = b"\x00\x00\x01" + KEY.encode() + b"\xff"
    upstream = Upstream(
        lambda request: (200, {"content-type": "application/vnd.amazon.eventstream"}, [(0, frame)])
    )
    with pytest.raises(CassetteError, match=r"interactions\[0\]\.response\.body\.string"):
        await record(tmp_path / "c.yaml", upstream, secret_names=["LLMBENCH_TEST_SECRET"])


async def test_a_vcrpy_cassette_with_credentials_is_cleaned_when_rewritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMBENCH_TEST_SECRET", KEY)
    path = tmp_path / "c.yaml"
    path.write_text(
        f"""interactions:
- request:
    method: GET
    uri: https://example.test/v1/models?key={KEY}
    headers: {{Authorization: [Bearer {KEY}], Accept: [application/json]}}
    body: null
  response:
    status: {{code: 200, message: OK}}
    headers: {{Content-Type: [application/json], Set-Cookie: [s={KEY}]}}
    body: {{string: '{{}}'}}
version: 1
"""
    )
    await record(path, Upstream(), mode="new_episodes", secret_names=["LLMBENCH_TEST_SECRET"])
    assert KEY not in path.read_text()


# Keys as providers issue them: a prefix and a long random tail (never an ordinary word).
keys = st.builds(
    lambda prefix, tail: prefix + tail,
    st.sampled_from(["sk-", "sk-ant-api03-", "AIza", "gsk_", "sk-proj-", ""]),
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        min_size=24,
        max_size=60,
    ),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=keys)
def test_a_key_in_any_provider_position_never_reaches_the_file(key: str) -> None:
    headers = {
        "authorization": f"Bearer {key}",
        "x-api-key": key,
        "api-key": key,
        "x-goog-api-key": key,
    }
    url = f"{URL}?alt=sse&key={key}&api_key={key}&X-Amz-Credential={key}"
    with tempfile.TemporaryDirectory() as directory, env(LLMBENCH_HYPOTHESIS_KEY=key):
        path = Path(directory) / "c.yaml"
        cassette = Cassette(path, record_mode="once", secret_names=["LLMBENCH_HYPOTHESIS_KEY"])

        async def run() -> None:
            transport = cassette.recording_transport(Upstream().transport)
            await fetch(transport, chat_body(api_key=key, key=key), url=url, headers=headers)

        asyncio.run(run())
        cassette.save()
        text = path.read_text()
    assert key not in text
