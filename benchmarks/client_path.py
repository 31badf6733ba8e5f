"""CPU cost of LLMClient's own path per request and per event, without a network.

An in-memory transport answers every request with the same synthetic OpenAI chat stream
(documented chunk shape, `--tokens` text deltas plus finish, usage and [DONE]) in `--chunks`
network chunks, so what is timed is ours and httpx's: building the request, httpx's send,
the timing transport, decoding, assembly and metrics. Sequential requests, best of --repeat.

Reproduce: python -m benchmarks.client_path [--requests 2000 --tokens 64 --chunks 1 --repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator

import httpx

from benchmarks.sse_decode import chat_body
from benchmarks.transport import provider_for
from pytest_llmbench import LLMClient, Request


class _Body(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


class InMemoryTransport(httpx.AsyncBaseTransport):
    """Answers each request with `body` split into `chunks` pieces."""

    def __init__(self, body: bytes, chunks: int) -> None:
        size = -(-len(body) // chunks)
        self._chunks = [body[i : i + size] for i in range(0, len(body), size)]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream"}
        return httpx.Response(200, headers=headers, stream=_Body(self._chunks), request=request)


async def per_request_us(requests: int, tokens: int, chunks: int) -> float:
    body = chat_body(tokens)
    provider = provider_for("http://127.0.0.1:9/v1")
    request = Request(messages=[{"role": "user", "content": "Hi"}], max_tokens=tokens, stream=True)
    async with LLMClient(provider, transport=InMemoryTransport(body, chunks)) as llm:
        await llm.complete(request)  # imports and first-use setup outside the timing
        started = time.perf_counter()
        for _ in range(requests):
            await llm.complete(request)
        return (time.perf_counter() - started) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--chunks", type=int, default=1, help="network chunks per response")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    best = min(
        asyncio.run(per_request_us(args.requests, args.tokens, args.chunks))
        for _ in range(args.repeat)
    )
    events = args.tokens + 1  # the text deltas and the finish chunk
    print(f"LLMClient path, {args.tokens}-token streams in {args.chunks} chunk(s):")
    print(f"  {best:.0f} us per request, {best / events:.2f} us per event")
    print(
        f"reproduce: python -m benchmarks.client_path --requests {args.requests} "
        f"--tokens {args.tokens} --chunks {args.chunks} --repeat {args.repeat}"
    )


if __name__ == "__main__":
    main()
