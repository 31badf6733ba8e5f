"""The httpx transports over a cassette: replay only, and record (replaying what it may).

Recording passes each network chunk on the moment it arrives and keeps only its arrival time and
bytes; decoding (gzip, brotli) and storing happen once the body has ended. Replay answers from
the cassette with the recorded status, allowlisted headers and chunk boundaries, at once or at
the recorded pace.
"""

from __future__ import annotations

import asyncio
import importlib
import time
import zlib
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import httpx

from pytest_llmbench.cassettes.sanitize import safe_response_headers
from pytest_llmbench.cassettes.serialization import headers_offset_s, new_response
from pytest_llmbench.transport.paced import PacedStream
from pytest_llmbench.transport.timing import REPLAYED_KEY

if TYPE_CHECKING:
    from pytest_llmbench.cassettes.cassette import Cassette

NS_PER_MS = 1_000_000


class ReplayTransport(httpx.AsyncBaseTransport):
    """Answers every request from the cassette; the network is never used.

    A request the cassette cannot answer raises CassetteError (with a diff against the closest
    recorded request).
    """

    def __init__(self, cassette: Cassette) -> None:
        self.cassette = cassette

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        start = time.perf_counter()
        body = await request.aread()
        incoming = self.cassette.incoming(request, body)
        response = self.cassette.take_replay(incoming, recording=False)
        if response is None:
            raise self.cassette.unmatched(incoming)
        return await replay_response(self.cassette, response, start)


class RecordingTransport(httpx.AsyncBaseTransport):
    """Replays what the record mode allows, sends the rest to `inner` and records it.

    Responses with status >= 400 pass through unrecorded unless the cassette records errors.
    A response is recorded when its body has been read to the end.
    """

    def __init__(self, cassette: Cassette, inner: httpx.AsyncBaseTransport) -> None:
        self.cassette = cassette
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        start_ns = time.perf_counter_ns()
        body = await request.aread()
        cassette = self.cassette
        incoming = cassette.incoming(request, body)
        recorded = cassette.take_replay(incoming, recording=True)
        if recorded is not None:
            return await replay_response(cassette, recorded, start_ns / 1e9)
        if not cassette.may_record():
            raise cassette.unmatched(incoming)
        response = await self.inner.handle_async_request(request)
        headers_ns = time.perf_counter_ns()
        if response.status_code >= 400 and not cassette.record_errors:
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
    cassette: Cassette, response: dict[str, Any], start: float
) -> httpx.Response:
    """An httpx.Response replaying a recorded one; `start` is the request's perf_counter()."""
    factor = cassette.timing_factor
    if factor:
        delay = start + headers_offset_s(response) * factor - time.perf_counter()
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
        stream=PacedStream(cassette.chunks_of(response), start=start),
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
    decoded = _decode(chunks, headers.get("content-encoding", []))
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


# -- Content-Encoding ------------------------------------------------------------------------


class _Decoder:
    """Undoes one content coding incrementally."""

    def decode(self, data: bytes) -> bytes:
        raise NotImplementedError

    def flush(self) -> bytes:
        return b""


class _GzipDecoder(_Decoder):
    def __init__(self) -> None:
        self._inner = zlib.decompressobj(zlib.MAX_WBITS | 16)

    def decode(self, data: bytes) -> bytes:
        return self._inner.decompress(data)

    def flush(self) -> bytes:
        return self._inner.flush()


class _DeflateDecoder(_Decoder):
    # "deflate" is zlib-wrapped by the standard and raw from some servers: try the first and
    # fall back on the first chunk, as httpx does.
    def __init__(self) -> None:
        self._inner = zlib.decompressobj()
        self._first = True

    def decode(self, data: bytes) -> bytes:
        if self._first and data:
            self._first = False
            try:
                return self._inner.decompress(data)
            except zlib.error:
                self._inner = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._inner.decompress(data)

    def flush(self) -> bytes:
        return self._inner.flush()


class _BrotliDecoder(_Decoder):
    def __init__(self, brotli: Any) -> None:
        self._inner = brotli.Decompressor()

    def decode(self, data: bytes) -> bytes:
        return bytes(self._inner.process(data))


def _decoder(name: str) -> _Decoder | None:
    if name in ("gzip", "x-gzip"):
        return _GzipDecoder()
    if name == "deflate":
        return _DeflateDecoder()
    if name == "br":
        try:
            # Optional dependency, untyped; httpx decodes brotli only when it is installed too.
            return _BrotliDecoder(importlib.import_module("brotli"))
        except ImportError:
            return None
    return None


def _decode(
    chunks: list[tuple[int, bytes]], content_encoding: list[str]
) -> list[tuple[int, bytes]] | None:
    """The chunks with Content-Encoding undone, each keeping its arrival; None if impossible.

    A compressed chunk may decode to nothing (the decoder waits for more); its bytes then
    belong to a later chunk, as they would for a client decoding as it reads.
    """
    names = [name.strip().lower() for value in content_encoding for name in value.split(",")]
    names = [name for name in names if name and name != "identity"]
    if not names:
        return chunks
    pipeline: list[_Decoder] = []
    for name in reversed(names):  # the last coding applied is undone first
        decoder = _decoder(name)
        if decoder is None:
            return None
        pipeline.append(decoder)
    out: list[tuple[int, bytes]] = []
    try:
        for at, chunk in chunks:
            data = chunk
            for decoder in pipeline:
                data = decoder.decode(data)
            if data:
                out.append((at, data))
        tail = b""
        for decoder in pipeline:
            tail = (decoder.decode(tail) if tail else b"") + decoder.flush()
    except Exception:
        # Whatever a decoder rejects (zlib.error, brotli.error) is stored as sent.
        return None
    if tail:
        if out:
            out[-1] = (out[-1][0], out[-1][1] + tail)
        else:
            out.append((chunks[-1][0], tail))
    return out
