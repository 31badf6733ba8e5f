"""LLMClient: one provider and model, with retries, rate limiting, timing and cost.

The stream loop here is the hot path: per network chunk it feeds the codec's decoder and stamps
the events it completes with the chunk's arrival time (taken in the TimingTransport).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any

import httpx

from pytest_llmbench import errors
from pytest_llmbench.config import ModelConfig, ProviderConfig
from pytest_llmbench.metrics import Stopwatch, cost_usd
from pytest_llmbench.providers import Codec, StreamAssembler, codec_for
from pytest_llmbench.ratelimit import RateLimiter
from pytest_llmbench.retry import RetryPolicy
from pytest_llmbench.transport import TIMING_KEY, ResponseTiming, build_http_client
from pytest_llmbench.transport.timing import REPLAYED_KEY
from pytest_llmbench.types import Completion, Message, Request, StreamEvent

_limiters: dict[str, RateLimiter] = {}


def limiter_for(provider: ProviderConfig) -> RateLimiter | None:
    """The one rate limiter of a provider (shared by all its clients), if it has limits."""
    if not (provider.rpm or provider.tpm):
        return None
    key = provider.name or provider.base_url
    if key not in _limiters:
        _limiters[key] = RateLimiter(provider.rpm, provider.tpm)
    return _limiters[key]


def _token_estimate(request: Request) -> int:
    # For the tpm budget only: about four characters a token, plus the output allowance.
    chars = sum(len(m.text) for m in request.messages)
    return chars // 4 + (request.max_tokens or 256)


class LLMClient:
    """Calls one model of one provider.

    `complete()` returns an assembled Completion (streaming underneath when `request.stream`);
    `stream()` yields StreamEvents and keeps the Completion on `.completion` when done.
    Pass `http` to share a pooled httpx client (built with `build_http_client`) between clients.
    """

    def __init__(
        self,
        provider: ProviderConfig,
        model: ModelConfig | str | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        api_key: str | None = None,
    ) -> None:
        self.provider = provider
        self._api_key = api_key  # overrides api_key_env (mocked runs send a placeholder)
        self.model = model if isinstance(model, ModelConfig) else provider.model(model)
        self.codec: Codec = codec_for(provider.kind)
        self._owns_http = http is None
        self.http = http or build_http_client(provider, transport)
        self.retry = retry or RetryPolicy(max_retries=provider.max_retries)
        self.limiter = limiter if limiter is not None else limiter_for(provider)
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"LLMClient(provider={self.provider.name!r}, model={self.model.id!r})"

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the httpx client if this LLMClient made it."""
        if self._owns_http:
            await self.http.aclose()

    async def complete(self, request: Request | str, **fields: Any) -> Completion:
        """Send `request` (or a user prompt with Request fields) and return the Completion."""
        stream = self.stream(_as_request(request, fields))
        async for _ in stream:
            pass
        assert stream.completion is not None
        return stream.completion

    def stream(self, request: Request | str, **fields: Any) -> CompletionStream:
        """An async iterator of StreamEvents; `.completion` is set once it is exhausted.

        A plain (non-streamed) request yields no events and still sets `.completion`.
        """
        return CompletionStream(self, _as_request(request, fields))

    async def validate(self) -> Completion:
        """One minimal request proving that the credentials and the model work."""
        credentials = self.codec.credentials(self.provider)
        if not (self._api_key or credentials.present):
            raise credentials.error(self.provider.name)
        return await self.complete(
            Request(messages=[Message(role="user", content="Hi")], max_tokens=1)
        )

    # -- one attempt ------------------------------------------------------------------------

    async def _attempt(self, request: Request, result: _Result) -> AsyncIterator[StreamEvent]:
        """One HTTP exchange; yields events as chunks arrive; leaves the Completion in result."""
        http_request = self.codec.build_request(
            request, self.model, self.provider, self._api_key or self.provider.api_key()
        )
        fallback = Stopwatch()  # used only if the client is not on a TimingTransport
        total = self.provider.timeout_s
        deadline = time.monotonic() + total
        try:
            response = await asyncio.wait_for(self.http.send(http_request, stream=True), total)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, http_request, started=False) from None
        except asyncio.TimeoutError:
            raise self._total_timeout(http_request) from None
        timing: ResponseTiming | None = response.extensions.get(TIMING_KEY)
        watch = timing.stopwatch if timing is not None else fallback
        result.watch = watch
        result.status = response.status_code
        result.replayed = bool(response.extensions.get(REPLAYED_KEY))
        try:
            if response.status_code >= 400 or not request.stream:
                try:
                    body = await asyncio.wait_for(response.aread(), deadline - time.monotonic())
                except asyncio.TimeoutError:
                    raise self._total_timeout(http_request) from None
                except httpx.HTTPError as exc:  # no event was yielded: retryable as a whole
                    raise self._transport_error(exc, http_request, started=False) from None
                if response.status_code >= 400:
                    raise self.codec.parse_error(response.status_code, response.headers, body)
                result.completion = self.codec.parse_response(
                    response.status_code, response.headers, body
                )
                return
            decoder = self.codec.stream_decoder_for(response.headers)
            assembler = StreamAssembler()
            output = watch.output_ns
            clock = time.perf_counter_ns
            try:
                async for chunk in response.aiter_bytes():
                    if time.monotonic() > deadline:
                        raise self._total_timeout(http_request)
                    events = decoder.feed(chunk)
                    if not events:
                        continue
                    now = timing.last_arrival_ns if timing is not None else clock()
                    for event in _stamped(events, now, output, assembler):
                        yield event
                        result.yielded = True
            except httpx.HTTPError as exc:
                raise self._transport_error(exc, http_request, started=True) from None
            # Events completed only by the end of the body arrived with its last chunk.
            end = timing.last_arrival_ns if timing is not None else clock()
            for event in _stamped(decoder.close(), end, output, assembler):
                yield event
            result.completion = assembler.completion()
        finally:
            await response.aclose()
            if watch.t_end is None:
                watch.t_end = time.perf_counter_ns()

    def _total_timeout(self, request: httpx.Request) -> errors.TimeoutError:
        where = f"{request.method} {request.url.copy_with(query=None)}"
        return errors.TimeoutError(
            f"total timeout of {self.provider.timeout_s:g} s exceeded on {where}",
            provider=self.provider.name,
        )

    def _transport_error(
        self, exc: httpx.HTTPError, request: httpx.Request, *, started: bool
    ) -> errors.ProviderError:
        where = f"{request.method} {request.url.copy_with(query=None)}"
        if isinstance(exc, httpx.TimeoutException):
            kind = type(exc).__name__
            return errors.TimeoutError(f"{kind} after {where}", provider=self.provider.name)
        if started:
            return errors.StreamInterruptedError(
                f"connection lost mid-stream ({type(exc).__name__}: {exc}) on {where}",
                provider=self.provider.name,
            )
        proxy = f" through proxy {self.provider.proxy}" if self.provider.proxy else ""
        return errors.ConnectionError(
            f"could not reach {where}{proxy}: {type(exc).__name__}: {exc}",
            provider=self.provider.name,
        )

    def _metrics(self, result: _Result, completion: Completion, retries: int) -> None:
        watch = result.watch or Stopwatch()
        usage = completion.usage
        metrics = watch.result(
            output_tokens=usage.output_tokens if usage is not None else None,
            streamed=result.streamed,
        )
        metrics.provider = self.provider.name
        metrics.model = self.model.id
        metrics.status = result.status
        metrics.retries = retries
        metrics.replayed = result.replayed
        metrics.input_tokens = usage.input_tokens if usage is not None else 0
        metrics.cost_usd = cost_usd(
            metrics.input_tokens,
            metrics.output_tokens,
            self.model.input_per_mtok,
            self.model.output_per_mtok,
        )
        completion.metrics = metrics


def _stamped(
    events: list[StreamEvent], now: int, output: list[int], assembler: StreamAssembler
) -> Iterator[StreamEvent]:
    """The events completed by one chunk, stamped with its arrival and assembled."""
    for event in events:
        event.arrival_ns = now
        if event.is_output:
            output.append(now)
        assembler.add(event)
        yield event


class _Result:
    """What one attempt leaves behind."""

    __slots__ = ("completion", "replayed", "status", "streamed", "watch", "yielded")

    def __init__(self, streamed: bool) -> None:
        self.completion: Completion | None = None
        self.watch: Stopwatch | None = None
        self.status: int | None = None
        self.replayed = False
        self.streamed = streamed
        self.yielded = False


class CompletionStream:
    """The events of one request, retried (before its first event) per the retry policy."""

    def __init__(self, client: LLMClient, request: Request) -> None:
        self.client = client
        self.request = request
        self.completion: Completion | None = None
        self.retries = 0

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._run()

    async def _run(self) -> AsyncIterator[StreamEvent]:
        client = self.client
        while True:
            if client.limiter is not None:  # every attempt, retries too, counts against rpm/tpm
                await client.limiter.acquire(_token_estimate(self.request))
            result = _Result(streamed=self.request.stream)
            try:
                async for event in client._attempt(self.request, result):
                    yield event
            except errors.ProviderError as error:
                error.provider = client.provider.name
                _add_hint(error, client.provider)
                delay = None if result.yielded else client.retry.delay(error, self.retries + 1)
                if delay is None:
                    raise
                self.retries += 1
                await client._sleep(delay)
                continue
            assert result.completion is not None
            client._metrics(result, result.completion, self.retries)
            self.completion = result.completion
            return


def _add_hint(error: errors.ProviderError, provider: ProviderConfig) -> None:
    if isinstance(error, errors.AuthenticationError) and provider.api_key_env:
        error.hint = f"check that {provider.api_key_env} holds a valid key for {provider.base_url}"
    elif isinstance(error, errors.ModelNotFoundError):
        error.hint = f"check the model id under [providers.{provider.name}] in models.toml"


def _as_request(request: Request | str, fields: dict[str, Any]) -> Request:
    if isinstance(request, Request):
        return request.model_copy(update=fields) if fields else request
    return Request(messages=[Message(role="user", content=request)], **fields)
