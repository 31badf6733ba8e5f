"""Streaming throughput of the transports under httpx, and of the whole client, on loopback.

Measures what the brief says to choose the transport by: httpx's default transport, httpx on
the httpx-aiohttp transport, aiohttp alone, and LLMClient's full stream loop on each transport.
Each figure is the best of --repeat runs of --requests sequential streams of --tokens events.

Reproduce: python -m benchmarks.transport [--tokens 2000 --requests 20 --repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx

from pytest_llmbench import LLMClient, Request
from pytest_llmbench.config import ModelConfig, ProviderConfig
from pytest_llmbench.transport import build_http_client, network_transport


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"benchmark server on port {port} did not start")


async def httpx_stream(client: httpx.AsyncClient, url: str, tokens: int) -> int:
    body = {"max_tokens": tokens, "stream": True}
    async with client.stream("POST", url, json=body) as response:
        return sum([len(chunk) async for chunk in response.aiter_bytes()])


async def aiohttp_stream(session: aiohttp.ClientSession, url: str, tokens: int) -> int:
    async with session.post(url, json={"max_tokens": tokens, "stream": True}) as response:
        return sum([len(chunk) async for chunk in response.content.iter_any()])


async def best_of(
    repeat: int, run: Callable[[], Awaitable[int]], requests: int
) -> tuple[float, int]:
    best = float("inf")
    size = 0
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(requests):
            size = await run()
        best = min(best, time.perf_counter() - start)
    return best, size


def provider_for(base_url: str) -> ProviderConfig:
    model = ModelConfig(id="bench", context_window=100000, input_per_mtok=0, output_per_mtok=0)
    return ProviderConfig(
        name="bench", kind="openai", base_url=base_url, max_retries=0, models=(model,)
    )


async def measure(port: int, tokens: int, requests: int, repeat: int) -> list[tuple[str, float]]:
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    provider = provider_for(f"http://127.0.0.1:{port}/v1")
    request = Request(messages=[{"role": "user", "content": "x"}], max_tokens=tokens, stream=True)
    results: list[tuple[str, float]] = []

    async with aiohttp.ClientSession() as session:
        seconds, _ = await best_of(repeat, lambda: aiohttp_stream(session, url, tokens), requests)
        results.append(("aiohttp alone", seconds))
    for backend in ("httpx", "aiohttp"):
        transport = network_transport(provider, backend=backend)
        async with httpx.AsyncClient(transport=transport) as client:
            seconds, _ = await best_of(repeat, lambda: httpx_stream(client, url, tokens), requests)
        results.append((f"httpx on the {backend} transport", seconds))
    for backend in ("httpx", "aiohttp"):
        http = build_http_client(provider, network_transport(provider, backend=backend))
        async with http, LLMClient(provider, http=http) as llm:

            async def one() -> int:
                completion = await llm.complete(request)
                return completion.metrics.output_tokens

            seconds, produced = await best_of(repeat, one, requests)
            assert produced == tokens, produced
        results.append((f"LLMClient stream loop, {backend} transport", seconds))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "benchmarks.sse_server", str(port)])
    try:
        wait_for(port)
        results = asyncio.run(measure(port, args.tokens, args.requests, args.repeat))
    finally:
        server.terminate()
        server.wait()
    events = args.tokens * args.requests
    print(f"{args.requests} streams x {args.tokens} events on loopback, best of {args.repeat}:")
    for name, seconds in results:
        print(f"  {name:42s} {seconds * 1000:8.1f} ms  {events / seconds:10,.0f} events/s")
    print(
        "reproduce: python -m benchmarks.transport "
        f"--tokens {args.tokens} --requests {args.requests} --repeat {args.repeat}"
    )


if __name__ == "__main__":
    main()
