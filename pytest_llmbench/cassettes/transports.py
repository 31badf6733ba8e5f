"""The httpx transports over a cassette: replay only, and record (replaying what it may).

Recording passes each network chunk on the moment it arrives and keeps only its arrival time and
bytes; decoding (gzip, brotli) and storing happen once the body has ended. Replay answers from
the cassette with the recorded status, allowlisted headers and chunk boundaries, at once or at
the recorded pace.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from pytest_llmbench.cassettes.sanitize import safe_response_headers
from pytest_llmbench.cassettes.serialization import new_response
from pytest_llmbench.cassettes.store import InteractionStore
from pytest_llmbench.transport.connection import CONNECTION_KEY, ConnectionSetup
from pytest_llmbench.transport.encoding import decode_chunks
from pytest_llmbench.transport.paced import PacedStream
from pytest_llmbench.transport.timing import REPLAYED_KEY

NS_PER_MS = 1_000_000


class ReplayTransport(httpx.AsyncBaseTransport):
    """Answers every request from the cassette; the network is never used.

    A request the cassette cannot answer raises CassetteError (with a diff against the closest
    recorded request).
    """

    def __init__(self, cassette: InteractionStore) -> None:
        self.cassette = cassette

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        start = time.perf_counter()
        body = await request.aread()
        response = self.cassette.take_replay(request, body, recording=False)
        if response is None:
            raise self.cassette.unmatched(request, body)
        return await replay_response(self.cassette, response, start)


class RecordingTransport(httpx.AsyncBaseTransport):
    """Replays what the record mode allows, sends the rest to `inner` and records it.

    Responses with status >= 400 pass through unrecorded unless the cassette records errors.
    A response is recorded when its body has been read to the end.
    """

    def __init__(self, cassette: InteractionStore, inner: httpx.AsyncBaseTransport) -> None:
        self.cassette = cassette
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        start_ns = time.perf_counter_ns()
        body = await request.aread()
        cassette = self.cassette
        recorded = cassette.take_replay(request, body, recording=True)
        if recorded is not None:
            return await replay_response(cassette, recorded, start_ns / 1e9)
        if not cassette.may_record():
            raise cassette.unmatched(request, body)
        response = await self.inner.handle_async_request(request)
        headers_ns = time.perf_counter_ns()
        setup = response.extensions.get(CONNECTION_KEY)
        if isinstance(setup, ConnectionSetup) and setup.ready_ns is not None:
            start_ns = max(start_ns, setup.ready_ns)  # the server's own time, not the connect
        if not cassette.keeps_response(request, response.status_code):
            return response
        if response.is_stream_consumed:
            # Built from content (httpx.MockTransport, respx): the body is already in memory,
            # decoded, so it is stored as one chunk that arrived with the headers.
            cassette.add_recording(request, body, _stored_content(response, start_ns, headers_ns))
            return response
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)

        def finished(chunks: list[tuple[int, bytes]]) -> None:
            stored = _stored_response(response, chunks, start_ns, headers_ns)
            cassette.add_recording(request, body, stored)

        response.stream = _RecordingStream(stream, finished)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class _RecordingStream(httpx.AsyncByteStream):
    """Yields the inner stream's chunks untouched, noting each one's arrival."""

    def __init__(
        self,
        inner: httpx.AsyncByteStream,
        on_end: Callable[[list[tuple[int, bytes]]], None],
    ) -> None:
        self._inner = inner
        self._on_end = on_end
        self._chunks: list[tuple[int, bytes]] = []

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._chunks
        clock = time.perf_counter_ns
        async for chunk in self._inner:
            chunks.append((clock(), chunk))
            yield chunk
        # Only a body read to its end is recorded: a cut-off stream would replay as complete.
        self._on_end(chunks)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def replay_response(
    cassette: InteractionStore, response: dict[str, Any], start: float
) -> httpx.Response:
    """An httpx.Response replaying a recorded one; `start` is the request's perf_counter()."""
    headers_at, chunks = cassette.replay_pace(response)
    if headers_at:
        delay = start + headers_at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    headers = [
        (name, value)
        for name, values in safe_response_headers(response["headers"]).items()
        for value in values
    ]
    extensions: dict[str, Any] = {REPLAYED_KEY: True}
    message = response["status"].get("message")
    if message:
        extensions["reason_phrase"] = str(message).encode("ascii", "replace")
    return httpx.Response(
        response["status"]["code"],
        headers=headers,
        stream=PacedStream(chunks, start=start),
        extensions=extensions,
    )


def _headers(response: httpx.Response) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in response.headers.multi_items():
        headers.setdefault(name, []).append(value)
    return headers


def _stored_content(response: httpx.Response, start_ns: int, headers_ns: int) -> dict[str, Any]:
    kept = safe_response_headers(_headers(response))
    kept.pop("content-encoding", None)
    body = response.content
    headers_ms = (headers_ns - start_ns) / NS_PER_MS
    chunks = [(headers_ms, len(body))] if body else []
    return new_response(
        response.status_code, response.reason_phrase, kept, body, headers_ms, chunks
    )


def _stored_response(
    response: httpx.Response, chunks: list[tuple[int, bytes]], start_ns: int, headers_ns: int
) -> dict[str, Any]:
    headers = _headers(response)
    kept = safe_response_headers(headers)
    decoded = decode_chunks(chunks, headers.get("content-encoding", []))
    if decoded is None:
        # A coding we cannot undo: keep the bytes as sent, and the header that explains them.
        decoded = chunks
    else:
        kept.pop("content-encoding", None)
    decoded = [(at, chunk) for at, chunk in decoded if chunk]
    body = b"".join(chunk for _, chunk in decoded)
    offsets = [((at - start_ns) / NS_PER_MS, len(chunk)) for at, chunk in decoded]
    return new_response(
        response.status_code,
        response.reason_phrase,
        kept,
        body,
        (headers_ns - start_ns) / NS_PER_MS,
        offsets,
    )
