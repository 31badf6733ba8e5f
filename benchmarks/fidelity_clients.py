"""One measured client run for benchmarks.fidelity, in its own process (so its RSS is its own).

Run: python -m benchmarks.fidelity_clients KIND URL CONCURRENCY COUNT TOKENS OUT.json
KIND is `bare` (aiohttp alone, counting token bytes), `bare-json` (aiohttp, splitting and parsing
every SSE event), `llmclient` (LLMClient) or `replay` (record COUNT requests, then replay them at
the recorded pace through LLMClient). Writes per-request TTFT and ITL (ms) and
the wall time of the measured requests as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from benchmarks.transport import provider_for
from pytest_llmbench import LLMClient, Request
from pytest_llmbench.cassettes import Cassette
from pytest_llmbench.transport import network_transport

Timed = tuple[float | None, float | None]  # TTFT, ITL in ms
TOKEN = b'" tok"'


async def closed_loop(
    one: Callable[[], Awaitable[Timed]], concurrency: int, count: int
) -> dict[str, Any]:
    results: list[Timed] = []
    left = count

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            results.append(await one())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    return {
        "ttft": [r[0] for r in results],
        "itl": [r[1] for r in results],
        "wall_s": wall,
    }


TokenCounter = Callable[[bytes], int]  # how many tokens one network chunk completed


def _token_bytes() -> TokenCounter:
    return lambda chunk: chunk.count(TOKEN)


def _parsed_events() -> TokenCounter:
    """Split the SSE events, parse each with orjson, count those that carry text."""
    rest = b""

    def count(chunk: bytes) -> int:
        nonlocal rest
        *events, rest = (rest + chunk).split(b"\n\n")
        texts = 0
        for event in events:
            data = event.removeprefix(b"data: ")
            if data == b"[DONE]":
                continue
            choices = orjson.loads(data).get("choices")
            if choices and choices[0].get("delta", {}).get("content"):
                texts += 1
        return texts

    return count


async def _aiohttp_client(
    url: str, concurrency: int, count: int, tokens: int, counter: Callable[[], TokenCounter]
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "bench", "messages": [{"role": "user", "content": "Hi"}]}
    body |= {"max_tokens": tokens, "stream": True}
    connector = aiohttp.TCPConnector(limit=1000)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> Timed:
            tokens_in = counter()
            t0 = time.perf_counter_ns()
            stamps: list[int] = []
            async with session.post(f"{url}/chat/completions", json=body) as response:
                async for chunk in response.content.iter_any():
                    now = time.perf_counter_ns()
                    stamps += [now] * tokens_in(chunk)
            ttft = (stamps[0] - t0) / 1e6
            itl = (stamps[-1] - stamps[0]) / 1e6 / (len(stamps) - 1) if len(stamps) > 1 else None
            return ttft, itl

        return await closed_loop(one, concurrency, count)


async def bare(url: str, concurrency: int, count: int, tokens: int) -> dict[str, Any]:
    """aiohttp alone, counting the token's bytes in each chunk."""
    return await _aiohttp_client(url, concurrency, count, tokens, _token_bytes)


async def bare_json(url: str, concurrency: int, count: int, tokens: int) -> dict[str, Any]:
    """aiohttp plus the least a client that reads the answer must do: split the SSE events,
    parse each with orjson and stamp those that carry text (no httpx, no SSE edge cases, no
    error handling, no usage or cost): the floor for a client that decodes what it times."""
    return await _aiohttp_client(url, concurrency, count, tokens, _parsed_events)


def _request(tokens: int) -> Request:
    return Request(messages=[{"role": "user", "content": "Hi"}], max_tokens=tokens, stream=True)


async def through(llm: LLMClient, concurrency: int, count: int, tokens: int) -> dict[str, Any]:
    request = _request(tokens)

    async def one() -> Timed:
        metrics = (await llm.complete(request)).metrics
        return metrics.ttft_ms, metrics.itl_ms

    return await closed_loop(one, concurrency, count)


async def llmclient(url: str, concurrency: int, count: int, tokens: int) -> dict[str, Any]:
    async with LLMClient(provider_for(url)) as llm:
        return await through(llm, concurrency, count, tokens)


async def replay(url: str, concurrency: int, count: int, tokens: int) -> dict[str, Any]:
    provider = provider_for(url)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "fidelity.yaml")
        recorder = Cassette(path, record_mode="rewrite", allow_playback_repeats=True)
        network = recorder.recording_transport(network_transport(provider))
        async with LLMClient(provider, transport=network) as llm:
            await llm.complete(_request(tokens))
        recorder.save()
        cassette = Cassette(path, allow_playback_repeats=True, timing="recorded")
        async with LLMClient(provider, transport=cassette.replay_transport()) as llm:
            return await through(llm, concurrency, count, tokens)


KINDS = {"bare": bare, "bare-json": bare_json, "llmclient": llmclient, "replay": replay}


def main() -> None:
    kind, url, concurrency, count, tokens, out = sys.argv[1:7]
    figures = asyncio.run(KINDS[kind](url, int(concurrency), int(count), int(tokens)))
    Path(out).write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
