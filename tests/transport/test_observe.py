"""ObservingTransport: requests made by any client on the stack get RequestMetrics."""

from __future__ import annotations

import gzip
import json

import httpx
from factories import make_provider

from pytest_llmbench.metrics import RequestMetrics
from pytest_llmbench.transport import TimingTransport
from pytest_llmbench.transport.observe import ObservingTransport
from pytest_llmbench.transport.paced import PacedStream

PROVIDER = make_provider("openai", api_key_env=None)
BODY = {
    "id": "x",
    "model": "m",
    "choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1000, "completion_tokens": 500},
}


async def observe(response: httpx.Response, *, stream: bool = False) -> RequestMetrics:
    seen: list[RequestMetrics] = []
    inner = TimingTransport(httpx.MockTransport(lambda _: response))
    transport = ObservingTransport(inner, PROVIDER, PROVIDER.model(), seen.append)
    url = "https://api.openai.com/v1/chat/completions"
    async with (
        httpx.AsyncClient(transport=transport) as client,
        client.stream("POST", url) as reply,
    ):
        await reply.aread()
    [metrics] = seen
    return metrics


async def test_a_compressed_answer_still_reports_usage_and_cost() -> None:
    body = gzip.compress(json.dumps(BODY).encode())
    stream = PacedStream([(0, body[:10]), (0, body[10:])])
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    metrics = await observe(httpx.Response(200, stream=stream, headers=headers))
    assert (metrics.input_tokens, metrics.output_tokens) == (1000, 500)
    assert not metrics.usage_estimated and metrics.error is None
    assert metrics.cost_usd == (1000 * 1.0 + 500 * 2.0) / 1e6


async def test_stream_events_are_stamped_as_they_pass() -> None:
    def event(text: str, finish: str | None = None) -> bytes:
        data = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}
        return b"data: " + json.dumps(data).encode() + b"\n\n"

    usage = (
        b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\ndata: [DONE]\n'
    )
    chunks = [(0.0, event("a")), (0.03, event("b", "stop")), (0.03, usage)]
    headers = {"content-type": "text/event-stream"}
    metrics = await observe(httpx.Response(200, stream=PacedStream(chunks), headers=headers))
    assert metrics.output_events == 2 and metrics.output_tokens == 2
    assert metrics.itl_ms is not None and metrics.itl_ms >= 25
    assert metrics.streamed


async def test_an_error_status_is_reported_with_its_class() -> None:
    body = {"error": {"message": "slow down", "code": "rate_limit_exceeded"}}
    metrics = await observe(httpx.Response(429, json=body))
    assert metrics.error == "RateLimitError" and metrics.status == 429


async def test_sdk_and_llmclient_calls_are_metered_alike() -> None:
    from pytest_llmbench import LLMClient

    def event(text: str, finish: str | None = None) -> bytes:
        data = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}
        return b"data: " + json.dumps(data).encode() + b"\n\n"

    usage = b'data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3}}\n\n'
    chunks = [(0.0, event("a")), (0.0, event("b")), (0.0, event("c", "stop")), (0.0, usage)]
    headers = {"content-type": "text/event-stream"}

    def answer() -> httpx.Response:
        return httpx.Response(200, stream=PacedStream([*chunks, (0.0, b"data: [DONE]\n\n")]))

    observed = await observe(httpx.Response(200, stream=answer().stream, headers=headers))
    transport = TimingTransport(
        httpx.MockTransport(lambda _: httpx.Response(200, stream=answer().stream, headers=headers))
    )
    async with LLMClient(PROVIDER, http=httpx.AsyncClient(transport=transport)) as llm:
        own = (await llm.complete("Hi", stream=True)).metrics
    fields = ("streamed", "input_tokens", "output_tokens", "output_events", "cost_usd", "status")
    assert [getattr(observed, f) for f in fields] == [getattr(own, f) for f in fields]
    assert observed.usage_estimated is own.usage_estimated is False
    assert (observed.connect_ms, own.connect_ms) == (None, None)  # no network connection here


async def test_a_resend_by_the_network_transport_is_counted_in_retries() -> None:
    from pytest_llmbench.transport.connection import CONNECTION_KEY, ConnectionSetup

    setup = ConnectionSetup()
    setup.resends = 1  # as the network transport leaves it after a stale pooled connection
    answer = httpx.Response(200, json=BODY, extensions={CONNECTION_KEY: setup})
    metrics = await observe(answer)
    assert metrics.retries == 1
