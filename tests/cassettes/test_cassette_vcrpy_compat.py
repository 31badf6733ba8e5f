"""vcrpy compatibility both ways: plain vcrpy replays our cassettes; we replay vcrpy's."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import httpx
import vcr
from cassette_helpers import SSE_CHUNKS, URL, Upstream, fetch, record
from vcr.serialize import deserialize
from vcr.serializers import yamlserializer

from pytest_llmbench.cassettes import Cassette


def no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"vcrpy should have replayed {request.url}")


def plain_vcrpy_post(path: Path, url: str = URL) -> httpx.Response:
    """A sync httpx call under plain vcrpy, replay only."""
    with (
        vcr.VCR(record_mode="none").use_cassette(str(path)),
        httpx.Client(transport=httpx.MockTransport(no_network)) as client,
    ):
        return client.post(url, json={})


async def test_plain_vcrpy_replays_our_sse_cassette(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream())
    response = plain_vcrpy_post(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.content == b"".join(SSE_CHUNKS)


async def test_plain_vcrpy_replays_our_binary_cassette(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    frames = b"\x00\x00\x00\x10\xffbinary-frame"
    upstream = Upstream(
        lambda request: (200, {"content-type": "application/vnd.amazon.eventstream"}, [(0, frames)])
    )
    await record(path, upstream)
    assert plain_vcrpy_post(path).content == frames


async def test_vcrpy_deserializer_reads_our_cassette(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream())
    requests, responses = deserialize(path.read_text(), yamlserializer)
    assert requests[0].method == "POST"
    assert responses[0]["body"]["string"] == b"".join(SSE_CHUNKS)


def plain_vcrpy_record_gzip(path: Path, payload: bytes) -> None:
    """Record with plain vcrpy a server that gzips `payload` (vcrpy stores it compressed)."""

    def gzip_server(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json", "content-encoding": "gzip"}
        return httpx.Response(200, headers=headers, content=gzip.compress(payload))

    with (
        vcr.VCR(record_mode="once").use_cassette(str(path)),
        httpx.Client(transport=httpx.MockTransport(gzip_server)) as client,
    ):
        client.post(URL, json={"model": "gpt-x"})


async def test_a_cassette_recorded_by_plain_vcrpy_with_gzip_replays_decoded(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    payload = json.dumps({"id": "chatcmpl-1", "choices": [{"text": "hello " * 20}]}).encode()
    plain_vcrpy_record_gzip(path, payload)
    text = path.read_text()
    assert "content-encoding" in text.lower()
    assert "string: !!binary" in text
    fetched = await fetch(Cassette(path).replay_transport(), {"model": "gpt-x"})
    assert fetched.chunks == [payload]
    assert "content-encoding" not in fetched.response.headers


async def test_a_vcrpy_cassette_with_a_binary_body_replays_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    data = b"\x00\x01\x02\xfe\xff"
    path.write_text(
        f"""interactions:
- request:
    body: null
    headers:
      Accept: ['*/*']
    method: GET
    uri: https://example.test/blob
  response:
    body:
      string: !!binary |
        {base64.b64encode(data).decode()}
    headers:
      Content-Type: [application/octet-stream]
    status: {{code: 200, message: OK}}
version: 1
"""
    )
    fetched = await fetch(
        Cassette(path).replay_transport(), method="GET", url="https://example.test/blob"
    )
    assert fetched.chunks == [data]
    assert fetched.response.headers["content-type"] == "application/octet-stream"


async def test_a_vcrpy_cassette_with_compact_json_bodies_matches_our_requests(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        """interactions:
- request:
    body: '{"model":"gpt-x","messages":[{"role":"user","content":"hi"}]}'
    headers:
      authorization: [Bearer canary-not-a-key]
      content-type: [application/json]
    method: POST
    uri: https://api.openai.com/v1/chat/completions
  response:
    body: {string: '{"ok": true}'}
    headers:
      Content-Type: [application/json]
      Set-Cookie: [__cf_bm=abc]
    status: {code: 200, message: OK}
version: 1
"""
    )
    fetched = await fetch(Cassette(path).replay_transport())
    assert fetched.body == b'{"ok": true}'


async def test_an_old_vcrpy_cassette_with_a_file_request_body_loads(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        """interactions:
- request:
    body: !!python/object/new:_io.BytesIO
      state: !!python/tuple
      - !!binary |
        eyJtb2RlbCI6ICJncHQteCJ9
      - 0
      - null
    headers: {Content-Type: [application/json]}
    method: POST
    uri: https://api.openai.com/v1/chat/completions
  response:
    body: {string: '{"ok": true}'}
    headers: {Content-Type: [application/json]}
    status: {code: 200, message: OK}
version: 1
"""
    )
    fetched = await fetch(Cassette(path).replay_transport(), {"model": "gpt-x"})
    assert fetched.body == b'{"ok": true}'
