"""Cross-check the harness against the real local llama.cpp server's own `timings`.

The server reports how long it spent on the prompt and on generation; what the client
measures around the same request can only be longer. Runs when the local server is up
(CI starts it: scripts/local-server/start.sh); skips with the command to start it otherwise.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
from local_server import LOCAL, needs_local_server

from pytest_llmbench import LLMClient, Request
from pytest_llmbench.transport import network_transport

pytestmark = needs_local_server


class Tee(httpx.AsyncBaseTransport):
    """Keeps a copy of every response body that passes through."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.bodies: list[bytearray] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = bytearray()
        self.bodies.append(body)
        inner_stream = response.stream
        assert isinstance(inner_stream, httpx.AsyncByteStream)
        source: httpx.AsyncByteStream = inner_stream  # narrowing does not reach the class below

        class Copy(httpx.AsyncByteStream):
            async def __aiter__(self) -> AsyncIterator[bytes]:
                async for chunk in source:
                    body.extend(chunk)
                    yield chunk

            async def aclose(self) -> None:
                await source.aclose()

        response.stream = Copy()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def server_timings(body: bytes) -> dict[str, float]:
    for line in reversed(body.decode().splitlines()):
        if line.startswith("data: {") and '"timings"' in line:
            timings: dict[str, float] = json.loads(line[6:])["timings"]
            return timings
    raise AssertionError("the server sent no timings")


async def test_client_timings_contain_the_servers_own() -> None:
    tee = Tee(network_transport(LOCAL))
    request = Request(
        messages=[{"role": "user", "content": "Tell me about the sea."}],
        max_tokens=32,
        temperature=0,
        stream=True,
    )
    async with LLMClient(LOCAL, transport=tee) as llm:
        await llm.complete(request)  # warm the connection and the model
        completion = await llm.complete(request)
    metrics = completion.metrics
    timings = server_timings(bytes(tee.bodies[-1]))
    assert completion.usage is not None
    assert completion.usage.output_tokens == timings["predicted_n"]
    assert metrics.ttft_ms is not None and metrics.e2e_ms is not None
    # The first token cannot reach us before the server finished the prompt.
    assert metrics.ttft_ms >= timings["prompt_ms"]
    # Nor can the whole answer arrive in less time than the server spent making it.
    assert metrics.e2e_ms >= timings["prompt_ms"] + timings["predicted_ms"]
    overhead = metrics.e2e_ms - timings["prompt_ms"] - timings["predicted_ms"]
    print(
        f"server: prompt {timings['prompt_ms']:.2f} ms, generation {timings['predicted_ms']:.2f} ms "
        f"for {timings['predicted_n']:g} tokens; client: ttft {metrics.ttft_ms:.2f} ms, "
        f"e2e {metrics.e2e_ms:.2f} ms (transport + HTTP + parsing: {overhead:.2f} ms)"
    )
