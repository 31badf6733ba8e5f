"""`--llm-drift`'s transport: each request goes to the network, and its response, once read to
the end, is compared with the cassette's recording of the same request.

The cassette is only read: recordings are taken for pairing (repeats allowed) and nothing is
ever added to it, so a drift run leaves cassette files untouched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from pytest_llmbench.drift.compare import DriftComparison, compare_shapes
from pytest_llmbench.drift.shape import Shape, response_shape
from pytest_llmbench.transport.encoding import decode_chunks

if TYPE_CHECKING:
    from pytest_llmbench.cassettes.cassette import Cassette

NO_RECORDING = "no recorded interaction matches this request; nothing to compare"


class DriftTransport(httpx.AsyncBaseTransport):
    """Sends every request to `inner` and reports a `DriftComparison` per response read to
    its end to `on_comparison`. `nodeid` and `target` label the comparisons."""

    def __init__(
        self,
        cassette: Cassette,
        inner: httpx.AsyncBaseTransport,
        on_comparison: Callable[[DriftComparison], None],
        *,
        nodeid: str,
        target: str,
    ) -> None:
        self.cassette = cassette
        self.inner = inner
        self.on_comparison = on_comparison
        self.nodeid = nodeid
        self.target = target

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        cassette = self.cassette
        recorded = cassette.take_replay(request, body, recording=False)
        comparison = DriftComparison(
            nodeid=self.nodeid,
            target=self.target,
            cassette=_shown(cassette.path),
            request=f"{request.method} {request.url.copy_with(query=None)}",
        )
        if recorded is None:
            comparison.note = NO_RECORDING
            self.on_comparison(comparison)
            return await self.inner.handle_async_request(request)
        comparison.interaction = cassette.index_of(recorded)
        response = await self.inner.handle_async_request(request)

        def finished(body: bytes) -> None:
            live = response_shape(response.status_code, list(response.headers.multi_items()), body)
            comparison.changes = compare_shapes(recorded_shape(recorded), live)
            self.on_comparison(comparison)

        if response.is_stream_consumed:
            # Built from content (httpx.MockTransport, respx): the body is in memory, decoded.
            finished(response.content)
            return response
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        encoding = response.headers.get_list("content-encoding")
        response.stream = _CollectingStream(
            stream, lambda chunks: finished(_decoded(chunks, encoding))
        )
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def recorded_shape(response: dict[str, Any]) -> Shape:
    """The shape of a recorded (vcrpy-format) response."""
    # The whole stored body, not its chunk rows: a hand-edited body need not match them.
    stored = response["body"]["string"] or b""
    body = stored.encode() if isinstance(stored, str) else bytes(stored)
    return response_shape(response["status"]["code"], response["headers"], body)


def _shown(path: Path) -> str:
    """The cassette path relative to the working directory when it is under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _decoded(chunks: list[bytes], content_encoding: list[str]) -> bytes:
    """The body with its Content-Encoding undone (as sent if that is impossible)."""
    decoded = decode_chunks(list(enumerate(chunks)), content_encoding)
    return b"".join(chunk for _, chunk in (decoded if decoded is not None else enumerate(chunks)))


class _CollectingStream(httpx.AsyncByteStream):
    """Yields the inner stream's chunks untouched and hands them over once the body ended."""

    def __init__(self, inner: httpx.AsyncByteStream, on_end: Callable[[list[bytes]], None]) -> None:
        self._inner = inner
        self._on_end = on_end

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks: list[bytes] = []
        async for chunk in self._inner:
            chunks.append(chunk)
            yield chunk
        # A body cut off mid-way would look like drift; only complete bodies are compared.
        self._on_end(chunks)

    async def aclose(self) -> None:
        await self._inner.aclose()
