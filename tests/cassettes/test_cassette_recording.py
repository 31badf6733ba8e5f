"""Recording: streams pass through as they arrive and are stored with their chunk offsets."""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from pathlib import Path
from typing import Any

import brotli  # type: ignore[import-untyped]
import httpx
import pytest
import yaml
from cassette_helpers import (
    SSE_CHUNKS,
    URL,
    Upstream,
    chat_body,
    fetch,
    loopback_server,
    record,
)

from pytest_llmbench.cassettes import Cassette
from pytest_llmbench.transport.paced import PacedStream


def load_yaml(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


async def test_first_chunk_reaches_the_caller_before_the_upstream_has_finished(
    tmp_path: Path,
) -> None:
    cassette = Cassette(tmp_path / "c.yaml", record_mode="once")
    with loopback_server(SSE_CHUNKS) as server:
        transport = cassette.recording_transport(httpx.AsyncHTTPTransport())
        async with (
            httpx.AsyncClient(transport=transport) as client,
            client.stream("POST", server.url, json=chat_body()) as response,
        ):
            chunks = response.aiter_bytes()
            first = await anext(chunks)
            upstream_finished_before_first_chunk = server.finished.is_set()
            server.release.set()
            rest = [chunk async for chunk in chunks]
    assert first == SSE_CHUNKS[0]
    assert not upstream_finished_before_first_chunk
    assert b"".join([first, *rest]) == b"".join(SSE_CHUNKS)


async def test_recording_through_a_real_socket_stores_each_chunk_with_its_offset(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.yaml"
    cassette = Cassette(path, record_mode="once")
    with loopback_server(SSE_CHUNKS) as server:
        transport = cassette.recording_transport(httpx.AsyncHTTPTransport())
        async with (
            httpx.AsyncClient(transport=transport) as client,
            client.stream("POST", server.url, json=chat_body()) as response,
        ):
            chunks = response.aiter_bytes()
            await anext(chunks)
            server.release.set()
            [chunk async for chunk in chunks]
    cassette.save()
    stored = load_yaml(path)["interactions"][0]["response"]
    sizes = [size for _, size in stored["chunks"]]
    offsets = [offset for offset, _ in stored["chunks"]]
    assert sum(sizes) == len(b"".join(SSE_CHUNKS))
    assert sizes[0] == len(SSE_CHUNKS[0])
    assert offsets == sorted(offsets)
    assert stored["headers_ms"] <= offsets[0]


async def test_chunk_offsets_are_milliseconds_from_the_request_start(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    upstream = Upstream(
        lambda request: (200, {"content-type": "text/event-stream"}, [(0.0, b"a"), (0.08, b"b")])
    )
    await record(path, upstream)
    (first, _), (second, _) = load_yaml(path)["interactions"][0]["response"]["chunks"]
    assert 0 <= first < 40
    assert second >= 79
    assert second - first >= 70


async def test_sse_body_is_stored_as_a_readable_block_string(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream())
    text = path.read_text()
    assert "string: |" in text
    assert '  data: {"choices":[{"delta":{"content":"Hel"}}]}\n' in text


async def test_json_request_body_is_stored_indented(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream(), chat_body("hello there"))
    text = path.read_text()
    assert "body: |-" in text
    assert '"content": "hello there"' in text
    request = load_yaml(path)["interactions"][0]["request"]
    assert json.loads(request["body"]) == chat_body("hello there")


async def test_gzip_body_is_stored_decoded_without_content_encoding(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    payload = json.dumps({"id": "x", "text": "hello " * 50}).encode()
    compressed = gzip.compress(payload)
    half = len(compressed) // 2
    upstream = Upstream(
        lambda request: (
            200,
            {"content-type": "application/json", "content-encoding": "gzip"},
            [(0.0, compressed[:half]), (0.0, compressed[half:])],
        )
    )
    cassette = Cassette(path, record_mode="once")
    fetched = await fetch(cassette.recording_transport(upstream.transport))
    cassette.save()
    stored = load_yaml(path)["interactions"][0]["response"]
    assert fetched.body == payload
    assert stored["body"]["string"] == payload.decode()
    assert "content-encoding" not in stored["headers"]
    assert sum(size for _, size in stored["chunks"]) == len(payload)


async def test_brotli_body_is_stored_decoded(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    payload = b"data: " + b"x" * 300 + b"\n\n"
    upstream = Upstream(
        lambda request: (
            200,
            {"content-type": "text/event-stream", "content-encoding": "br"},
            [(0.0, brotli.compress(payload))],
        )
    )
    await record(path, upstream)
    stored = load_yaml(path)["interactions"][0]["response"]
    assert stored["body"]["string"] == payload.decode()
    assert "content-encoding" not in stored["headers"]


async def test_deflate_body_is_stored_decoded(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    payload = b'{"ok": true}'
    upstream = Upstream(
        lambda request: (
            200,
            {"content-type": "application/json", "content-encoding": "deflate"},
            [(0.0, zlib.compress(payload))],
        )
    )
    await record(path, upstream)
    assert load_yaml(path)["interactions"][0]["response"]["body"]["string"] == payload.decode()


async def test_unknown_content_encoding_is_stored_as_sent_with_its_header(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    upstream = Upstream(
        lambda request: (
            200,
            {"content-type": "application/octet-stream", "content-encoding": "x-custom"},
            [(0.0, b"\x00\x01opaque")],
        )
    )
    await record(path, upstream)
    stored = load_yaml(path)["interactions"][0]["response"]
    assert stored["headers"]["content-encoding"] == ["x-custom"]
    assert stored["body"]["string"] == b"\x00\x01opaque"


async def test_bedrock_event_stream_is_stored_as_binary(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    frames = [b"\x00\x00\x00\x2a\x00\x00\x00\x10frame-one", b"\x00\x00\x00\x1bframe-two\xff"]
    upstream = Upstream(
        lambda request: (
            200,
            {"content-type": "application/vnd.amazon.eventstream"},
            [(0.0, frames[0]), (0.01, frames[1])],
        )
    )
    await record(path, upstream)
    text = path.read_text()
    stored = load_yaml(path)["interactions"][0]["response"]
    assert "string: !!binary" in text
    assert stored["body"]["string"] == b"".join(frames)
    assert [size for _, size in stored["chunks"]] == [len(frame) for frame in frames]


async def test_text_that_is_valid_utf8_in_an_event_stream_is_still_binary(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    upstream = Upstream(
        lambda request: (200, {"content-type": "application/vnd.amazon.eventstream"}, [(0, b"ab")])
    )
    await record(path, upstream)
    assert "!!binary" in path.read_text()


async def test_error_response_passes_through_and_is_not_stored_by_default(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    upstream = Upstream(
        lambda request: (429, {"content-type": "application/json"}, [(0, b'{"error":"slow"}')])
    )
    cassette = Cassette(path, record_mode="once")
    fetched = await fetch(cassette.recording_transport(upstream.transport))
    cassette.save()
    assert fetched.response.status_code == 429
    assert fetched.body == b'{"error":"slow"}'
    assert cassette.new_interactions == 0
    assert not path.exists()


async def test_error_response_is_stored_when_record_errors_is_set(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    upstream = Upstream(
        lambda request: (
            429,
            {"content-type": "application/json", "retry-after": "3"},
            [(0, b'{"error":"slow"}')],
        )
    )
    await record(path, upstream, record_errors=True)
    stored = load_yaml(path)["interactions"][0]["response"]
    assert stored["status"]["code"] == 429
    assert stored["headers"]["retry-after"] == ["3"]


async def test_a_stream_closed_before_its_end_is_not_recorded(tmp_path: Path) -> None:
    cassette = Cassette(tmp_path / "c.yaml", record_mode="once")
    transport = cassette.recording_transport(Upstream().transport)
    async with (
        httpx.AsyncClient(transport=transport) as client,
        client.stream("POST", URL, json=chat_body()) as response,
    ):
        async for _ in response.aiter_bytes():
            break
    assert cassette.new_interactions == 0


async def test_a_stream_that_fails_midway_is_not_recorded_and_the_error_reaches_the_caller(
    tmp_path: Path,
) -> None:
    failing = httpx.MockTransport(
        lambda request: httpx.Response(
            200,
            stream=PacedStream([(0, b"data: 1\n\n")], fail_with=httpx.ReadError("reset")),
        )
    )
    cassette = Cassette(tmp_path / "c.yaml", record_mode="once")
    with pytest.raises(httpx.ReadError):
        await fetch(cassette.recording_transport(failing))
    assert cassette.new_interactions == 0


async def test_concurrent_recordings_are_all_kept(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    cassette = Cassette(path, record_mode="once")
    transport = cassette.recording_transport(Upstream().transport)
    await asyncio.gather(*(fetch(transport, chat_body(f"q{i}")) for i in range(5)))
    cassette.save()
    bodies = {
        json.loads(item["request"]["body"])["messages"][0]["content"]
        for item in load_yaml(path)["interactions"]
    }
    assert bodies == {f"q{i}" for i in range(5)}
