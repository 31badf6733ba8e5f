"""Replay speed: N streamed requests replayed from one cassette vs the same N live.

Run: python -m benchmarks.replay [--requests 1000] [--tokens 64] [--repeat 3]
Records N distinct streamed requests from a zero-delay loopback server into a cassette, then
times (same process, side by side, medians of --repeat rounds) the N requests live against that
server and the N replayed from the cassette at once (timing "instant", reading the file
included), both through LLMClient at concurrency 16.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.sse_server import running
from benchmarks.transport import provider_for
from pytest_llmbench import LLMClient, Request
from pytest_llmbench.cassettes import Cassette
from pytest_llmbench.transport import network_transport


def requests_of(count: int, tokens: int) -> list[Request]:
    return [
        Request(messages=[{"role": "user", "content": f"q{i}"}], max_tokens=tokens, stream=True)
        for i in range(count)
    ]


async def run_all(llm: LLMClient, requests: list[Request], concurrency: int = 16) -> float:
    queue = list(reversed(requests))
    started = time.perf_counter()

    async def worker() -> None:
        while queue:
            await llm.complete(queue.pop())

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def measure(url: str, path: Path, requests: list[Request], repeat: int) -> dict[str, float]:
    provider = provider_for(url)
    recorder = Cassette(path, record_mode="rewrite")
    async with LLMClient(
        provider, transport=recorder.recording_transport(network_transport(provider))
    ) as llm:
        await run_all(llm, requests)
    recorder.save()
    live, replay = [], []
    for _ in range(repeat):
        async with LLMClient(provider) as llm:
            live.append(await run_all(llm, requests))
        loading = time.perf_counter()
        cassette = Cassette(path, record_mode="none")  # reading the file counts in replay
        loaded_s = time.perf_counter() - loading
        async with LLMClient(provider, transport=cassette.replay_transport()) as llm:
            replay.append(loaded_s + await run_all(llm, requests))
    return {"live_s": statistics.median(live), "replay_s": statistics.median(replay)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    requests = requests_of(args.requests, args.tokens)
    with running() as url, tempfile.TemporaryDirectory() as folder:
        figures = asyncio.run(measure(url, Path(folder, "replay.yaml"), requests, args.repeat))
    ratio = figures["replay_s"] / figures["live_s"]
    print(f"{args.requests} streamed requests of {args.tokens} tokens, concurrency 16")
    print(f"  live (zero-delay loopback server): {figures['live_s']:.2f} s")
    print(
        f"  replayed from one cassette:        {figures['replay_s']:.2f} s  ({ratio:.0%} of live)"
    )
    print(f"command: python -m benchmarks.replay --requests {args.requests} --tokens {args.tokens}")


if __name__ == "__main__":
    main()
