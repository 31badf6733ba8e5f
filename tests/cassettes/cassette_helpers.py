"""Shared pieces of the cassette tests: a scripted upstream, a client call, a loopback server."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from pytest_llmbench.cassettes import Cassette
from pytest_llmbench.modes import RecordMode
from pytest_llmbench.transport.paced import PacedStream

URL = "https://api.openai.com/v1/chat/completions"
SSE_CHUNKS = [
    b'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n',
    b'data: {"choices":[{"delta":{"content":"lo"}}]}\n\n',
    b"data: [DONE]\n\n",
]


def chat_body(content: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-x", "messages": [{"role": "user", "content": content}], **extra}


@dataclass
class Upstream:
    """A fake provider behind httpx.MockTransport: answers with paced chunks, counts calls.

    `reply(request)` may return `(status, headers, [(offset_s, bytes), ...])`; the default is the
    SSE stream of SSE_CHUNKS, 10 ms apart.
    """

    reply: Callable[[httpx.Request], tuple[int, dict[str, str], Sequence[tuple[float, bytes]]]] = (
        lambda request: (
            200,
            {"content-type": "text/event-stream"},
            [(i * 0.01, chunk) for i, chunk in enumerate(SSE_CHUNKS)],
        )
    )
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, headers, chunks = self.reply(request)
        return httpx.Response(status, headers=headers, stream=PacedStream(chunks))

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    @property
    def calls(self) -> int:
        return len(self.requests)


def numbered_upstream() -> Upstream:
    """An upstream whose n-th answer (from 1) is the JSON `{"n": n}`, for telling answers apart."""
    upstream = Upstream()

    def reply(request: httpx.Request) -> tuple[int, dict[str, str], list[tuple[float, bytes]]]:
        body = json.dumps({"n": upstream.calls}).encode()
        return 200, {"content-type": "application/json"}, [(0.0, body)]

    upstream.reply = reply
    return upstream


@dataclass
class Fetched:
    response: httpx.Response
    chunks: list[bytes]
    arrivals: list[float]  # seconds from just before the request was sent

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


async def fetch(
    transport: httpx.AsyncBaseTransport,
    json_body: Any = None,
    *,
    method: str = "POST",
    url: str = URL,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> Fetched:
    """One request through `transport`, reading the body chunk by chunk with arrival times."""
    if json_body is None and content is None and method == "POST":
        json_body = chat_body()
    async with httpx.AsyncClient(transport=transport) as client:
        start = time.perf_counter()
        request = client.build_request(
            method, url, json=json_body, content=content, headers=headers
        )
        response = await client.send(request, stream=True)
        chunks: list[bytes] = []
        arrivals: list[float] = []
        try:
            async for chunk in response.aiter_bytes():
                arrivals.append(time.perf_counter() - start)
                chunks.append(chunk)
        finally:
            await response.aclose()
    return Fetched(response, chunks, arrivals)


async def record(
    path: Path, upstream: Upstream, *bodies: Any, mode: RecordMode = "once", **options: Any
) -> Cassette:
    """Record one request per body (default: one chat request) into `path` and save."""
    cassette = Cassette(path, record_mode=mode, **options)
    transport = cassette.recording_transport(upstream.transport)
    for body in bodies or (chat_body(),):
        await fetch(transport, body)
    cassette.save()
    return cassette


class _SSEHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LoopbackServer

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        first, *rest = self.server.chunks
        self._send_chunk(first)
        # The rest waits until the test has seen the first chunk arrive through its client.
        self.server.release.wait(timeout=10)
        for chunk in rest:
            self._send_chunk(chunk)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self.server.finished.set()

    def _send_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        return None


class LoopbackServer(http.server.ThreadingHTTPServer):
    """An SSE server on 127.0.0.1 that holds its stream after the first chunk until released."""

    def __init__(self, chunks: Sequence[bytes]) -> None:
        super().__init__(("127.0.0.1", 0), _SSEHandler)
        self.chunks = list(chunks)
        self.release = threading.Event()
        self.finished = threading.Event()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/v1/chat/completions"


@contextlib.contextmanager
def loopback_server(chunks: Sequence[bytes]) -> Iterator[LoopbackServer]:
    server = LoopbackServer(chunks)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
