"""LLMClient: timing, usage, cost, retries, errors and the stream iterator, over respx routes."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterable, Callable
from typing import Any

import httpx
import pytest
import respx
from factories import make_provider

from pytest_llmbench import LLMClient, Request, StreamEvent, errors
from pytest_llmbench.config import ProviderConfig
from pytest_llmbench.retry import RetryPolicy
from pytest_llmbench.transport.paced import PacedStream

URL = "https://api.openai.com/v1/chat/completions"
KEY = "canary-test-client-secret-0123456789abcdef"


def chunk(content: str | None = None, finish: str | None = None, **extra: Any) -> bytes:
    delta = {} if content is None else {"content": content}
    body = {
        "id": "c1",
        "model": "test-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


USAGE = b'data: {"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":4}}\n\n'
DONE = b"data: [DONE]\n\n"
STREAM = [chunk(""), chunk("a"), chunk("b"), chunk("c"), chunk("d", "stop"), USAGE, DONE]
COMPLETION = {
    "id": "c2",
    "model": "test-model",
    "choices": [{"index": 0, "message": {"content": "Hello"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1000, "completion_tokens": 500},
}


class Sleeps:
    """A stand-in for asyncio.sleep that records the delays asked for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def router() -> respx.MockRouter:
    return respx.MockRouter(assert_all_called=False, assert_all_mocked=True)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client_for(
    router: respx.MockRouter, sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., LLMClient]:
    monkeypatch.setenv("LLMBENCH_TEST_KEY", KEY)

    def build(provider: ProviderConfig | None = None, **kwargs: Any) -> LLMClient:
        return LLMClient(
            provider or make_provider("openai"),
            transport=httpx.MockTransport(router.async_handler),
            sleep=sleeps,
            **kwargs,
        )

    return build


def paced(chunks: list[bytes], gap_s: float = 0.0, first_s: float = 0.0) -> httpx.Response:
    timed = [(first_s + i * gap_s, c) for i, c in enumerate(chunks)]
    return httpx.Response(
        200, stream=PacedStream(timed), headers={"content-type": "text/event-stream"}
    )


async def test_complete_reports_usage_cost_and_timing(
    router: respx.MockRouter, client_for: Callable[..., LLMClient]
) -> None:
    route = router.post(URL).respond(200, json=COMPLETION)
    async with client_for() as client:
        completion = await client.complete("Hi", max_tokens=5)
    assert completion.text == "Hello"
    metrics = completion.metrics
    assert (metrics.provider, metrics.model, metrics.status) == ("openai", "test-model", 200)
    assert (metrics.input_tokens, metrics.output_tokens) == (1000, 500)
    assert metrics.cost_usd == pytest.approx((1000 * 1.0 + 500 * 2.0) / 1e6)
    assert not metrics.streamed and not metrics.usage_estimated
    assert metrics.e2e_ms is not None and metrics.ttfb_ms is not None
    assert 0 <= metrics.ttfb_ms <= metrics.e2e_ms
    assert metrics.ttft_ms is None  # a non-streamed answer has no first token apart
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"


async def test_streamed_timing_follows_chunk_arrival(
    router: respx.MockRouter, client_for: Callable[..., LLMClient]
) -> None:
    router.post(URL).mock(return_value=paced(STREAM, gap_s=0.02, first_s=0.05))
    async with client_for() as client:
        completion = await client.complete("Hi", stream=True)
    metrics = completion.metrics
    assert completion.text == "abcd"
    assert metrics.streamed and metrics.output_events == 4
    # the first output ("a") is the second chunk: at 0.05 + 0.02 s at the earliest
    assert metrics.ttft_ms is not None and metrics.ttft_ms >= 70
    assert metrics.e2e_ms is not None and metrics.e2e_ms >= 50 + 6 * 20
    assert len(metrics.chunk_gaps_ms) == 3
    # the last output ("d") is scheduled at 0.05 + 4 * 0.02 s
    assert metrics.ttft_ms + sum(metrics.chunk_gaps_ms) >= 130
    assert metrics.itl_ms == pytest.approx(sum(metrics.chunk_gaps_ms) / 3)
    assert metrics.output_tps == pytest.approx(3 / (sum(metrics.chunk_gaps_ms) / 1000))
    assert metrics.bytes == sum(len(c) for c in STREAM)
    assert metrics.output_tokens == 4 and not metrics.usage_estimated


async def test_stream_yields_events_and_keeps_the_completion(
    router: respx.MockRouter, client_for: Callable[..., LLMClient]
) -> None:
    router.post(URL).mock(return_value=paced(STREAM))
    async with client_for() as client:
        stream = client.stream("Hi", stream=True)
        texts = [event.text async for event in stream if event.type == "text"]
    assert texts == ["a", "b", "c", "d"]
    assert stream.completion is not None and stream.completion.text == "abcd"
    assert stream.completion.metrics.ttft_ms is not None


async def test_events_carry_the_arrival_of_their_chunk(
    router: respx.MockRouter, client_for: Callable[..., LLMClient]
) -> None:
    router.post(URL).mock(return_value=paced(STREAM, gap_s=0.01))
    async with client_for() as client:
        events = [e async for e in client.stream("Hi", stream=True)]
    stamps = [e.arrival_ns for e in events]
    assert all(s is not None for s in stamps)
    assert stamps == sorted(stamps)  # type: ignore[type-var]


async def test_a_compressed_stream_is_decompressed_before_decoding(
    router: respx.MockRouter, client_for: Callable[..., LLMClient]
) -> None:
    body = gzip.compress(b"".join(STREAM))
    chunks = [(0.0, body[:20]), (0.0, body[20:])]
    headers = {"content-type": "text/event-stream", "content-encoding": "gzip"}
    router.post(URL).mock(
        return_value=httpx.Response(200, stream=PacedStream(chunks), headers=headers)
    )
    async with client_for() as client:
        completion = await client.complete("Hi", stream=True)
    assert completion.text == "abcd"
    assert completion.metrics.bytes == len(body)  # what came over the network


async def test_usage_missing_is_estimated_from_output_events(
    router: respx.MockRouter, client_for: Callable[..., LLMClient]
) -> None:
    router.post(URL).mock(return_value=paced([chunk("x"), chunk("y", "stop"), DONE]))
    async with client_for() as client:
        completion = await client.complete("Hi", stream=True)
    assert completion.usage is None
    assert completion.metrics.usage_estimated
    assert completion.metrics.output_tokens == 2


async def test_retry_after_is_honoured_then_succeeds(
    router: respx.MockRouter, client_for: Callable[..., LLMClient], sleeps: Sleeps
) -> None:
    router.post(URL).mock(
        side_effect=[
            httpx.Response(429, headers={"retry-after": "3"}, json={"error": {"message": "slow", "code": "rate_limit_exceeded"}}),
            httpx.Response(503, json={"error": {"message": "overloaded", "type": "server_error"}}),
            httpx.Response(200, json=COMPLETION),
        ]
    )  # fmt: skip
    async with client_for(retry=RetryPolicy(max_retries=2, random=lambda: 0.5)) as client:
        completion = await client.complete("Hi")
    assert completion.metrics.retries == 2
    assert sleeps.delays == [3.0, 0.5 * 0.5 * 2]  # Retry-After, then jittered backoff (attempt 2)


async def test_retries_give_up_after_max_retries(
    router: respx.MockRouter, client_for: Callable[..., LLMClient], sleeps: Sleeps
) -> None:
    route = router.post(URL).respond(
        500, json={"error": {"message": "boom", "type": "server_error"}}
    )
    async with client_for() as client:
        with pytest.raises(errors.ServerError, match="boom"):
            await client.complete("Hi")
    assert route.call_count == 3 and len(sleeps.delays) == 2


async def test_non_retryable_errors_are_raised_at_once(
    router: respx.MockRouter, client_for: Callable[..., LLMClient], sleeps: Sleeps
) -> None:
    route = router.post(URL).respond(
        400, json={"error": {"message": "bad", "type": "invalid_request_error"}}
    )
    async with client_for() as client:
        with pytest.raises(errors.InvalidRequestError):
            await client.complete("Hi")
    assert route.call_count == 1 and sleeps.delays == []


async def test_authentication_error_names_variable_not_value(
    router: respx.MockRouter, client_for: Callable[..., LLMClient]
) -> None:
    router.post(URL).respond(
        401,
        json={
            "error": {"message": f"Incorrect API key provided: {KEY}", "code": "invalid_api_key"}
        },
    )
    async with client_for() as client:
        with pytest.raises(errors.AuthenticationError) as info:
            await client.complete("Hi")
    error = info.value
    assert "LLMBENCH_TEST_KEY" in error.hint
    for text in (str(error), repr(error), error.message):
        assert KEY not in text


async def test_connection_error_names_the_address_and_is_retried(
    router: respx.MockRouter, client_for: Callable[..., LLMClient], sleeps: Sleeps
) -> None:
    route = router.post(URL).mock(side_effect=httpx.ConnectError("refused"))
    async with client_for() as client:
        with pytest.raises(
            errors.ConnectionError, match=r"could not reach POST https://api\.openai\.com"
        ):
            await client.complete("Hi")
    assert route.call_count == 3


async def test_timeout_maps_to_timeout_error(
    router: respx.MockRouter, client_for: Callable[..., LLMClient]
) -> None:
    router.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    async with client_for(make_provider("openai", max_retries=0)) as client:
        with pytest.raises(errors.TimeoutError, match="ReadTimeout"):
            await client.complete("Hi")


async def test_reset_mid_stream_is_interrupted_and_not_retried(
    router: respx.MockRouter, client_for: Callable[..., LLMClient], sleeps: Sleeps
) -> None:
    stream = PacedStream([(0, chunk("a")), (0, chunk("b"))], fail_with=httpx.ReadError("reset"))
    route = router.post(URL).mock(return_value=httpx.Response(200, stream=stream))
    async with client_for() as client:
        with pytest.raises(errors.StreamInterruptedError, match="connection lost mid-stream"):
            await client.complete("Hi", stream=True)
    assert route.call_count == 1 and sleeps.delays == []


async def test_truncated_stream_is_interrupted(
    router: respx.MockRouter, client_for: Callable[..., LLMClient]
) -> None:
    router.post(URL).mock(return_value=paced([chunk("a")]))
    async with client_for() as client:
        with pytest.raises(errors.StreamInterruptedError):
            await client.complete("Hi", stream=True)


async def test_validate_without_credentials_names_the_variable(
    client_for: Callable[..., LLMClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LLMBENCH_TEST_KEY")
    async with client_for() as client:
        with pytest.raises(errors.AuthenticationError, match="LLMBENCH_TEST_KEY is not set"):
            await client.validate()


async def test_validate_makes_one_minimal_request(
    router: respx.MockRouter, client_for: Callable[..., LLMClient]
) -> None:
    route = router.post(URL).respond(200, json=COMPLETION)
    async with client_for() as client:
        await client.validate()
    assert json.loads(route.calls.last.request.content)["max_completion_tokens"] == 1


async def test_request_object_and_fields_are_accepted(
    router: respx.MockRouter, client_for: Callable[..., LLMClient]
) -> None:
    route = router.post(URL).respond(200, json=COMPLETION)
    request = Request(messages=[{"role": "user", "content": "Hi"}], max_tokens=5)
    async with client_for() as client:
        await client.complete(request, temperature=0.5)
    assert json.loads(route.calls.last.request.content)["temperature"] == 0.5


def test_repr_shows_provider_and_model_only(client_for: Callable[..., LLMClient]) -> None:
    assert repr(client_for()) == "LLMClient(provider='openai', model='test-model')"


async def test_total_timeout_ends_a_stream_that_trickles_past_it(
    router: respx.MockRouter, client_for: Callable[..., LLMClient]
) -> None:
    # each chunk comes well within the read timeout, but the whole answer takes too long
    router.post(URL).mock(return_value=paced(STREAM, gap_s=0.05))
    provider = make_provider("openai", max_retries=0, timeout_s=0.12, read_timeout_s=5)
    async with client_for(provider) as client:
        with pytest.raises(errors.TimeoutError, match=r"total timeout of 0\.12 s exceeded"):
            await client.complete("Hi", stream=True)


async def test_total_timeout_bounds_the_wait_for_headers(
    router: respx.MockRouter, client_for: Callable[..., LLMClient]
) -> None:
    async def never(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    router.post(URL).mock(side_effect=never)
    provider = make_provider("openai", max_retries=0, timeout_s=0.05)
    async with client_for(provider) as client:
        with pytest.raises(errors.TimeoutError, match="total timeout"):
            await client.complete("Hi")


async def test_the_request_is_sent_in_the_callers_task(
    router: respx.MockRouter, client_for: Callable[..., LLMClient]
) -> None:
    # No task of its own per request (asyncio.wait_for made one): less work per request.
    senders: list[asyncio.Task[object] | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        senders.append(asyncio.current_task())
        return httpx.Response(200, json=COMPLETION)

    router.post(URL).mock(side_effect=answer)
    async with client_for() as client:
        await client.complete("Hi")
    assert senders == [asyncio.current_task()]


async def test_an_error_while_reading_a_body_is_a_taxonomy_error_and_retried(
    router: respx.MockRouter, client_for: Callable[..., LLMClient], sleeps: Sleeps
) -> None:
    cut = PacedStream([], fail_with=httpx.ReadTimeout("body stalled"))
    route = router.post(URL).mock(return_value=httpx.Response(200, stream=cut))
    async with client_for() as client:
        with pytest.raises(errors.TimeoutError, match="ReadTimeout"):
            await client.complete("Hi")
    assert route.call_count == 3 and len(sleeps.delays) == 2


async def test_every_attempt_counts_against_the_rate_limit(
    router: respx.MockRouter, client_for: Callable[..., LLMClient]
) -> None:
    class CountingLimiter:
        calls = 0

        async def acquire(self, tokens: int = 0) -> float:
            self.calls += 1
            return 0.0

    limiter = CountingLimiter()
    router.post(URL).mock(
        side_effect=[
            httpx.Response(429, json={"error": {"message": "slow"}}),
            httpx.Response(200, json=COMPLETION),
        ]
    )
    async with client_for(limiter=limiter) as client:
        await client.complete("Hi")
    assert limiter.calls == 2


async def test_an_event_completed_by_the_end_of_the_body_counts_as_output(
    router: respx.MockRouter, client_for: Callable[..., LLMClient]
) -> None:
    # the last event lacks its closing blank line: the end of the body completes it
    last = chunk("b", "stop").rstrip(b"\n") + b"\n"
    router.post(URL).mock(return_value=paced([chunk("a"), last], gap_s=0.02))
    async with client_for() as client:
        completion = await client.complete("Hi", stream=True)
    metrics = completion.metrics
    assert metrics.output_events == 2
    assert metrics.itl_ms is not None and metrics.itl_ms >= 15
    assert metrics.e2e_ms is not None and metrics.ttft_ms is not None
    assert metrics.ttft_ms + metrics.itl_ms <= metrics.e2e_ms


async def test_events_before_an_error_event_reach_the_stream_before_its_error(
    router: respx.MockRouter, client_for: Callable[..., LLMClient], sleeps: Sleeps
) -> None:
    error = b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n'
    one_chunk = chunk("a") + chunk("b") + error + chunk("c")
    route = router.post(URL).mock(return_value=paced([one_chunk]))
    texts: list[str] = []

    async def consume(stream: AsyncIterable[StreamEvent]) -> None:
        async for event in stream:
            texts.append(event.text)

    async with client_for() as client:
        with pytest.raises(errors.ServerError, match="overloaded"):
            await consume(client.stream("Hi", stream=True))
    assert texts == ["", "a", "b"]  # the start event, then the text before the error
    assert route.call_count == 1 and sleeps.delays == []  # the stream had started: no retry


async def test_an_error_event_before_any_other_event_is_retried(
    router: respx.MockRouter, client_for: Callable[..., LLMClient], sleeps: Sleeps
) -> None:
    error = b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n'
    route = router.post(URL).mock(side_effect=[paced([error]), paced(STREAM)])
    async with client_for() as client:
        texts = [event.text async for event in client.stream("Hi", stream=True)]
    assert "".join(texts) == "abcd"
    assert route.call_count == 2 and len(sleeps.delays) == 1


class _ClosingStream(PacedStream):
    """A PacedStream that notes when it is closed."""

    closed = False

    async def aclose(self) -> None:
        self.closed = True


async def test_the_response_is_closed_when_the_body_ends_before_its_last_events_are_handed_over(
    router: respx.MockRouter, client_for: Callable[..., LLMClient]
) -> None:
    # the last event lacks its closing blank line: only the end of the body completes it
    body = _ClosingStream([(0, chunk("a")), (0, chunk("b", "stop").rstrip(b"\n") + b"\n")])
    headers = {"content-type": "text/event-stream"}
    router.post(URL).mock(return_value=httpx.Response(200, stream=body, headers=headers))
    async with client_for() as client:
        async for event in client.stream("Hi", stream=True):
            if event.type == "finish":
                assert body.closed  # the connection is free before the consumer sees the end
                break
        else:
            pytest.fail("no finish event")
