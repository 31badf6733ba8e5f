"""ObservingTransport: RequestMetrics for requests made by any client, such as an official SDK.

It sits above TimingTransport and feeds each body chunk, as it passes, to the provider codec's
own incremental decoder, stamping output events with the chunk's arrival time. So an SDK call
through `llm_http_client` gets the same TTFT, ITL, usage and cost as LLMClient's calls.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

import httpx

from pytest_llmbench.config import ModelConfig, ProviderConfig
from pytest_llmbench.errors import ProviderError
from pytest_llmbench.metering import request_metrics, stamp
from pytest_llmbench.metrics import RequestMetrics
from pytest_llmbench.providers import StreamAssembler, codec_for
from pytest_llmbench.transport.connection import resends_in
from pytest_llmbench.transport.encoding import decode_chunks
from pytest_llmbench.transport.timing import REPLAYED_KEY, TIMING_KEY, ResponseTiming
from pytest_llmbench.types import StreamEvent

OnMetrics = Callable[[RequestMetrics], None]
_STREAM_TYPES = ("text/event-stream", "application/vnd.amazon.eventstream")


class _Observed(httpx.AsyncByteStream):
    def __init__(
        self,
        inner: httpx.AsyncByteStream,
        response: httpx.Response,
        timing: ResponseTiming,
        observer: ObservingTransport,
    ) -> None:
        self._inner = inner
        self._response = response
        self._timing = timing
        self._observer = observer
        content_type = response.headers.get("content-type", "")
        self._streamed = content_type.startswith(_STREAM_TYPES)
        # A compressed body is decoded whole at the end: usage and cost, but no event timing.
        self._encoding = response.headers.get_list("content-encoding")
        self._readable = all(e.strip().lower() == "identity" for e in self._encoding)
        self._decoder = observer.codec.stream_decoder_for(response.headers)
        self._assembler = StreamAssembler()
        self._body = bytearray()
        self._error: str | None = None
        self._done = False
        self._seen = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            if self._error is None:
                self._see(chunk)
            yield chunk
        self.finish()

    def _see(self, chunk: bytes) -> None:
        self._seen = True
        if not self._readable or not self._streamed or self._response.status_code >= 400:
            self._body += chunk
            return
        try:
            self._add(self._decoder.feed(chunk))
        except ProviderError as error:
            self._error = type(error).__name__

    def _add(self, events: list[StreamEvent]) -> None:
        """Assemble events, stamping output with the arrival of the chunk that completed them."""
        timing = self._timing
        stamp(events, timing.last_arrival_ns, timing.stopwatch, self._assembler)

    async def aclose(self) -> None:
        await self._inner.aclose()
        self.finish()

    def finish(self) -> None:
        if self._done:
            return
        self._done = True
        self._observer.report(self._metrics())

    def _whole_body(self) -> bytes:
        """What was kept of the body (all of it unless streamed readably), decoded."""
        if not self._seen and hasattr(self._response, "_content"):
            self._body += self._response.content  # a body given whole (mocks) is never iterated
        body = bytes(self._body)
        if self._readable or not body:
            return body
        decoded = decode_chunks([(0, body)], self._encoding)
        return b"".join(data for _, data in decoded) if decoded is not None else body

    def _metrics(self) -> RequestMetrics:
        codec = self._observer.codec
        status = self._response.status_code
        body = self._whole_body()
        usage = None
        try:
            if status >= 400:
                raise codec.parse_error(status, self._response.headers, body)
            if self._error is None and self._streamed:
                if body:  # not decoded as it came: no arrival times for its events
                    self._assembler.add_all(self._decoder.feed(body))
                self._add(self._decoder.close())
                usage = self._assembler.completion().usage
            elif self._error is None:
                usage = codec.parse_response(status, self._response.headers, body).usage
        except ProviderError as error:
            self._error = type(error).__name__
        return request_metrics(
            self._timing.stopwatch,
            self._observer.provider,
            self._observer.model,
            usage=usage,
            streamed=self._streamed,
            status=status,
            replayed=bool(self._response.extensions.get(REPLAYED_KEY)),
            retries=resends_in(self._response.extensions),
            error=self._error,
        )


class ObservingTransport(httpx.AsyncBaseTransport):
    """Wraps a TimingTransport; reports a RequestMetrics when each response body ends."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        provider: ProviderConfig,
        model: ModelConfig,
        on_metrics: OnMetrics,
    ) -> None:
        self.inner = inner
        self.provider = provider
        self.model = model
        self.codec = codec_for(provider.kind)
        self.report = on_metrics

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        timing = response.extensions.get(TIMING_KEY)
        stream = response.stream
        if isinstance(timing, ResponseTiming) and isinstance(stream, httpx.AsyncByteStream):
            observed = _Observed(stream, response, timing, self)
            response.stream = observed
            if hasattr(response, "_content"):  # given whole (mocks): it is complete already
                if timing.stopwatch.t_end is None:
                    timing.stopwatch.t_end = time.perf_counter_ns()
                observed.finish()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
