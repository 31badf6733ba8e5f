"""ObservingTransport: RequestMetrics for requests made by any client, such as an official SDK.

It sits above TimingTransport and feeds each body chunk, as it passes, to the provider codec's
own incremental decoder, stamping output events with the chunk's arrival time. So an SDK call
through `llm_http_client` gets the same TTFT, ITL, usage and cost as LLMClient's calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx

from pytest_llmbench.config import ModelConfig, ProviderConfig
from pytest_llmbench.errors import ProviderError
from pytest_llmbench.metrics import RequestMetrics, cost_usd
from pytest_llmbench.providers import StreamAssembler, codec_for
from pytest_llmbench.transport.timing import REPLAYED_KEY, TIMING_KEY, ResponseTiming

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
        # Compressed bodies cannot be decoded here (httpx undoes that above us).
        self._readable = response.headers.get("content-encoding", "identity") == "identity"
        self._decoder = observer.codec.stream_decoder_for(response.headers)
        self._assembler = StreamAssembler()
        self._body = bytearray()
        self._error: str | None = None
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            if self._readable and self._error is None:
                self._see(chunk)
            yield chunk
        self._finish()

    def _see(self, chunk: bytes) -> None:
        if not self._streamed or self._response.status_code >= 400:
            self._body += chunk
            return
        try:
            events = self._decoder.feed(chunk)
            for event in events:
                if event.is_output:
                    self._timing.stopwatch.output(self._timing.last_arrival_ns)
                self._assembler.add(event)
        except ProviderError as error:
            self._error = type(error).__name__

    async def aclose(self) -> None:
        await self._inner.aclose()
        self._finish()

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        self._observer.report(self._metrics())

    def _metrics(self) -> RequestMetrics:
        codec = self._observer.codec
        status = self._response.status_code
        if not self._body and hasattr(self._response, "_content"):
            self._body += self._response.content  # a body given whole (mocks) is never iterated
        usage = None
        try:
            if status >= 400:
                raise codec.parse_error(status, self._response.headers, bytes(self._body))
            if self._readable and self._error is None:
                if self._streamed:
                    self._assembler.add_all(self._decoder.close())
                    usage = self._assembler.completion().usage
                else:
                    usage = codec.parse_response(
                        status, self._response.headers, bytes(self._body)
                    ).usage
        except ProviderError as error:
            self._error = type(error).__name__
        watch = self._timing.stopwatch
        metrics = watch.result(
            output_tokens=usage.output_tokens if usage is not None else None,
            streamed=self._streamed,
        )
        model = self._observer.model
        metrics.provider = self._observer.provider.name
        metrics.model = model.id
        metrics.status = status
        metrics.replayed = bool(self._response.extensions.get(REPLAYED_KEY))
        metrics.error = self._error
        metrics.input_tokens = usage.input_tokens if usage is not None else 0
        metrics.cost_usd = cost_usd(
            metrics.input_tokens, metrics.output_tokens, model.input_per_mtok, model.output_per_mtok
        )
        return metrics


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
            response.stream = _Observed(stream, response, timing, self)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
