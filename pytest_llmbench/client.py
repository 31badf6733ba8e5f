"""LLMClient: one provider and model, with retries, rate limiting, timing and cost.

The stream loop here is the hot path: per network chunk it feeds the codec's decoder and stamps
the events it completes with the chunk's arrival time (taken in the TimingTransport).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any

import httpx

from pytest_llmbench import errors
from pytest_llmbench.config import ModelConfig, ProviderConfig
from pytest_llmbench.deadline import AttemptDeadline
from pytest_llmbench.exchange_errors import (
    body_cut_note,
    event_too_large,
    is_stream_type,
    not_a_stream,
    retry_note,
    transport_error,
    unexpected_error,
    where,
)
from pytest_llmbench.metering import request_metrics, stamp
from pytest_llmbench.metrics import Stopwatch
from pytest_llmbench.providers import Codec, StreamAssembler, codec_for
from pytest_llmbench.ratelimit import RateLimiter
from pytest_llmbench.retry import RetryPolicy
from pytest_llmbench.transport import TIMING_KEY, ResponseTiming, build_http_client
from pytest_llmbench.transport.connection import resends_in
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
        async for _ in stream._batches():  # no per-event hand-over: nobody looks at them
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

    async def _attempt(self, request: Request, result: _Result) -> AsyncIterator[list[StreamEvent]]:
        """One HTTP exchange: yields the events of each chunk as it arrives; the Completion is
        left in result.

        `timeout_s` bounds the whole attempt, silences between chunks included.
        """
        http_request = self.codec.build_request(
            request, self.model, self.provider, self._api_key or self.provider.api_key()
        )
        result.http_request = http_request
        fallback = Stopwatch()  # used only if the client is not on a TimingTransport
        deadline = AttemptDeadline(self.provider.timeout_s)
        try:
            response = await deadline.wait(self.http.send(http_request, stream=True))
        except errors.LLMBenchError:  # ours already (a CassetteError from replay, say)
            deadline.close()
            raise
        except httpx.HTTPError as exc:
            deadline.close()
            raise transport_error(exc, http_request, self.provider, "send") from None
        except asyncio.TimeoutError:
            deadline.close()
            raise self._total_timeout(http_request) from None
        except BaseException as exc:
            deadline.close()
            if not isinstance(exc, Exception):  # a cancellation from outside, say
                raise
            # a transport's own exception: still a classified error
            raise unexpected_error(exc, http_request, self.provider, "send") from None
        timing: ResponseTiming | None = response.extensions.get(TIMING_KEY)
        watch = timing.stopwatch if timing is not None else fallback
        result.watch = watch
        result.status = response.status_code
        result.replayed = bool(response.extensions.get(REPLAYED_KEY))
        try:
            content_type = response.headers.get("content-type", "")
            status = response.status_code
            failed = status >= 400
            if failed or not request.stream or "text/html" in content_type.lower():
                cap = self.provider.max_error_body_bytes if failed else None
                if request.stream and not failed:
                    cap = self.provider.max_error_body_bytes  # a page, not a stream: an excerpt
                body, cut = await self._read_body(response, http_request, cap, deadline)
                if failed:
                    error = self.codec.parse_error(response.status_code, response.headers, body)
                    if cut:
                        error.message += body_cut_note(self.provider)
                    raise error
                if request.stream:
                    raise not_a_stream(
                        http_request, self.provider, response.status_code, content_type, body
                    )
                result.completion = self.codec.parse_response(
                    response.status_code, response.headers, body
                )
                return
            decoder = self.codec.stream_decoder_for(response.headers)
            assembler = StreamAssembler()
            clock = time.perf_counter_ns
            chunks = _body_chunks(response)
            max_pending = self.provider.max_event_bytes
            pending = 0  # bytes fed since the decoder last completed an event
            ended = False
            while not ended:
                try:
                    chunk = await deadline.next_chunk(chunks)
                except StopAsyncIteration:
                    ended = True  # flush the decoder: a last event may lack its blank line
                    chunk = b""
                    await response.aclose()  # free the connection at once, as aiter_raw did
                except errors.LLMBenchError:  # ours already (a CassetteError from replay, say)
                    raise
                except httpx.HTTPError as exc:
                    raise transport_error(exc, http_request, self.provider, "stream") from None
                except asyncio.TimeoutError:
                    raise self._total_timeout(http_request) from None
                except Exception as exc:
                    raise unexpected_error(exc, http_request, self.provider, "stream") from None
                try:
                    events = decoder.close() if ended else decoder.feed(chunk)
                except (errors.StreamInterruptedError, errors.MalformedResponseError):
                    if is_stream_type(content_type):  # a page or a file is not a cut stream
                        raise
                    raise not_a_stream(
                        http_request, self.provider, status, content_type, b""
                    ) from None
                if not events:
                    pending += len(chunk)
                    if pending > max_pending:
                        raise event_too_large(http_request, self.provider)
                    continue
                pending = 0
                # Events completed only by the end of the body arrived with its last chunk.
                now = timing.last_arrival_ns if timing is not None else clock()
                try:
                    stamp(events, now, watch, assembler)
                except errors.ProviderError as error:  # an error event in the stream
                    # the events before it still reach the consumer first, then the error
                    before = events[: _index_of_error(events, error)]
                    if before:
                        yield before
                        result.yielded = True
                    raise error
                # One hand-over per network chunk, not per event: each async hop costs.
                yield events
                result.yielded = True
            result.completion = assembler.completion()
        finally:
            deadline.close()
            await response.aclose()
            if watch.t_end is None:
                watch.t_end = time.perf_counter_ns()

    async def _read_body(
        self,
        response: httpx.Response,
        request: httpx.Request,
        cap: int | None,
        deadline: AttemptDeadline,
    ) -> tuple[bytes, bool]:
        """The body (at most `cap` bytes) before the deadline, and whether it was cut."""
        parts: list[bytes] = []
        size = 0
        chunks = response.aiter_bytes().__aiter__()
        while True:
            try:
                chunk = await deadline.next_chunk(chunks)
            except StopAsyncIteration:
                return b"".join(parts), False
            except errors.LLMBenchError:  # ours already (a CassetteError from replay, say)
                raise
            except httpx.HTTPError as exc:  # no event was yielded: retryable as a whole
                raise transport_error(exc, request, self.provider, "body") from None
            except asyncio.TimeoutError:
                raise self._total_timeout(request) from None
            except Exception as exc:
                raise unexpected_error(exc, request, self.provider, "body") from None
            parts.append(chunk)
            size += len(chunk)
            if cap is not None and size > cap:
                return b"".join(parts)[:cap], True

    def _total_timeout(self, request: httpx.Request) -> errors.TimeoutError:
        return errors.TimeoutError(
            f"total timeout of {self.provider.timeout_s:g} s exceeded on {where(request)}",
            provider=self.provider.name,
            hint="raise timeout_s in models.toml (the whole attempt, silences included)",
        )

    def _metrics(self, result: _Result, completion: Completion, retries: int) -> None:
        completion.metrics = request_metrics(
            result.watch or Stopwatch(),
            self.provider,
            self.model,
            usage=completion.usage,
            streamed=result.streamed,
            status=result.status,
            replayed=result.replayed,
            retries=retries,
        )


class _Result:
    """What one attempt leaves behind."""

    __slots__ = ("completion", "http_request", "replayed", "status", "streamed", "watch", "yielded")

    def __init__(self, streamed: bool) -> None:
        self.completion: Completion | None = None
        self.watch: Stopwatch | None = None
        self.status: int | None = None
        self.replayed = False
        self.streamed = streamed
        self.yielded = False
        self.http_request: httpx.Request | None = None

    @property
    def resends(self) -> int:
        """Sends again by the network transport (a stale pooled connection): retries too."""
        return resends_in(self.http_request.extensions) if self.http_request is not None else 0


class CompletionStream:
    """The events of one request, retried (before its first event) per the retry policy."""

    def __init__(self, client: LLMClient, request: Request) -> None:
        self.client = client
        self.request = request
        self.completion: Completion | None = None
        self.retries = 0

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[StreamEvent]:
        async for batch in self._batches():
            for event in batch:
                yield event

    async def _batches(self) -> AsyncIterator[list[StreamEvent]]:
        """The events of each network chunk, of the attempt that succeeds or fails for good."""
        client = self.client
        while True:
            if client.limiter is not None:  # every attempt, retries too, counts against rpm/tpm
                await client.limiter.acquire(_token_estimate(self.request))
            result = _Result(streamed=self.request.stream)
            try:
                async for batch in client._attempt(self.request, result):
                    yield batch
            except errors.ProviderError as error:
                self.retries += result.resends
                error.provider = client.provider.name
                _add_hint(error, client.provider)
                delay = None if result.yielded else client.retry.delay(error, self.retries + 1)
                if delay is None:
                    error.retries = self.retries  # the failure row counts them too
                    if error.retryable:  # say why it was not (or no longer) retried
                        reason = (
                            "not retried: the stream had already started"
                            if result.yielded
                            else client.retry.why_not(error, self.retries + 1)
                        )
                        retry_note(reason, error)
                    raise
                self.retries += 1
                await client._sleep(delay)
                continue
            assert result.completion is not None
            self.retries += result.resends
            client._metrics(result, result.completion, self.retries)
            self.completion = result.completion
            return


def _body_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body's chunks; straight from the response's stream when nothing is to decode.

    httpx's aiter_raw only counts the bytes and passes each chunk on: an async layer, about
    0.6 us a chunk. A compressed body goes through aiter_bytes, which decodes it.
    """
    stream = response.stream
    if (
        response.is_stream_consumed
        or "content-encoding" in response.headers
        or not isinstance(stream, httpx.AsyncByteStream)
    ):
        return response.aiter_bytes().__aiter__()
    response.is_stream_consumed = True  # as aiter_raw marks it: the body can be read once
    return stream.__aiter__()


def _index_of_error(events: list[StreamEvent], error: errors.ProviderError) -> int:
    """Where the error event carrying `error` is among `events`."""
    return next((i for i, event in enumerate(events) if event.error is error), 0)


def _add_hint(error: errors.ProviderError, provider: ProviderConfig) -> None:
    if isinstance(error, errors.AuthenticationError) and provider.api_key_env:
        error.hint = f"check that {provider.api_key_env} holds a valid key for {provider.base_url}"
    elif isinstance(error, errors.ModelNotFoundError):
        error.hint = f"check the model id under [providers.{provider.name}] in models.toml"


def _as_request(request: Request | str, fields: dict[str, Any]) -> Request:
    if isinstance(request, Request):
        return request.model_copy(update=fields) if fields else request
    return Request(messages=[Message(role="user", content=request)], **fields)
