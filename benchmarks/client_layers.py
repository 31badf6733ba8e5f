"""Where a client's capacity goes, layer by layer, against a zero-delay loopback SSE server.

Run: python -m benchmarks.client_layers [--requests 2000] [--concurrency 64] [--repeat 5]

Each layer adds one thing to the one before and is run in its own process, the layers
alternating within each round; figures are medians of the rounds, as requests/s and as a share
of bare aiohttp. All but `llmclient` only count token bytes (no decoding):

- bare:            aiohttp alone
- transport:       httpx-aiohttp's transport called directly (httpx Request/Response objects)
- httpx-client:    the same transport behind httpx.AsyncClient.send
- ours-httpx:      our network + timing transports behind httpx.AsyncClient.send
- ours-direct:     our network + timing transports behind DirectClient (what LLMClient uses)
- llmclient:       LLMClient.complete: SSE framing, decoding, assembly, metrics
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from benchmarks import fidelity_clients
from benchmarks.fidelity_clients import TOKEN, Timed
from benchmarks.sse_server import running
from pytest_llmbench.transport.direct import DirectClient
from pytest_llmbench.transport.network import AiohttpNetworkTransport
from pytest_llmbench.transport.timing import TimingTransport

TOKENS = 64
BODY = {
    "model": "bench",
    "messages": [{"role": "user", "content": "Hi"}],
    "max_tokens": TOKENS,
    "stream": True,
}
PAYLOAD = json.dumps(BODY).encode()
HEADERS = {"content-type": "application/json"}
LAYERS = ("bare", "transport", "httpx-client", "ours-httpx", "ours-direct", "llmclient")


async def closed_loop(one: Callable[[], Awaitable[None]], concurrency: int, count: int) -> float:
    """Requests/s of `count` calls of `one` by `concurrency` workers."""

    async def untimed() -> Timed:
        await one()
        return None, None

    return _rate(await fidelity_clients.closed_loop(untimed, concurrency, count), count)


def _rate(figures: dict[str, Any], count: int) -> float:
    wall_s: float = figures["wall_s"]
    return count / wall_s


async def bare(url: str, concurrency: int, count: int) -> float:
    return _rate(await fidelity_clients.bare(url, concurrency, count, TOKENS), count)


async def transport(url: str, concurrency: int, count: int) -> float:
    from httpx_aiohttp import AiohttpTransport

    inner = AiohttpTransport(limits=httpx.Limits(max_connections=1000))

    async def one() -> None:
        request = httpx.Request("POST", f"{url}/chat/completions", content=PAYLOAD, headers=HEADERS)
        response = await inner.handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        async for chunk in response.stream:
            chunk.count(TOKEN)
        await response.stream.aclose()

    try:
        return await closed_loop(one, concurrency, count)
    finally:
        await inner.aclose()


async def _through(client: httpx.AsyncClient, url: str, concurrency: int, count: int) -> float:
    async with client:

        async def one() -> None:
            request = httpx.Request(
                "POST", f"{url}/chat/completions", content=PAYLOAD, headers=HEADERS
            )
            response = await client.send(request, stream=True)
            async for chunk in response.aiter_raw():
                chunk.count(TOKEN)
            await response.aclose()

        return await closed_loop(one, concurrency, count)


async def httpx_client(url: str, concurrency: int, count: int) -> float:
    from httpx_aiohttp import AiohttpTransport

    inner = AiohttpTransport(limits=httpx.Limits(max_connections=1000))
    return await _through(httpx.AsyncClient(transport=inner), url, concurrency, count)


async def ours_httpx(url: str, concurrency: int, count: int) -> float:
    stack = TimingTransport(AiohttpNetworkTransport())
    return await _through(httpx.AsyncClient(transport=stack), url, concurrency, count)


async def ours_direct(url: str, concurrency: int, count: int) -> float:
    stack = TimingTransport(AiohttpNetworkTransport())
    return await _through(DirectClient(stack, httpx.Timeout(60)), url, concurrency, count)


async def llmclient(url: str, concurrency: int, count: int) -> float:
    return _rate(await fidelity_clients.llmclient(url, concurrency, count, TOKENS), count)


RUN = {
    "bare": bare,
    "transport": transport,
    "httpx-client": httpx_client,
    "ours-httpx": ours_httpx,
    "ours-direct": ours_direct,
    "llmclient": llmclient,
}


def _one_layer(layer: str, url: str, concurrency: int, count: int) -> float:
    """Requests/s of one layer, measured in a process of its own."""
    command = [sys.executable, "-m", "benchmarks.client_layers", "--layer", layer, "--url", url]
    command += ["--concurrency", str(concurrency), "--requests", str(count)]
    return float(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--layer", choices=LAYERS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.layer:  # a child: one measurement, printed
        print(asyncio.run(RUN[args.layer](args.url, args.concurrency, args.requests)))
        return
    print(f"command: python -m benchmarks.client_layers {' '.join(sys.argv[1:])}".rstrip())
    rounds: dict[str, list[float]] = {layer: [] for layer in LAYERS}
    with running() as url:
        for _ in range(args.repeat):
            for layer in LAYERS:
                rounds[layer].append(_one_layer(layer, url, args.concurrency, args.requests))
    print(
        f"zero-delay server, {TOKENS}-token streams, c={args.concurrency}, "
        f"{args.requests} requests, median of {args.repeat} rounds"
    )
    bare_rate = statistics.median(rounds["bare"])
    for layer in LAYERS:
        rate = statistics.median(rounds[layer])
        print(f"  {layer:<13} {rate:8.1f} req/s  {rate / bare_rate:4.0%} of bare")


if __name__ == "__main__":
    main()
