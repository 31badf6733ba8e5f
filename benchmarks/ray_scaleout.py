"""Scale-out over Ray workers: req/s and TTFT error for 1, 2 and 4 workers against one server.

One local scripted-timing server (benchmarks/sse_server.py, first token after --ttft-ms) is
loaded at --concurrency streams for --requests requests, first by one process (LoadRun), then
by 1, 2 and 4 Ray workers on a local Ray instance. TTFT error is measured TTFT minus the
scripted TTFT: the load generator's own delay. On one small machine the workers share the
server's cores, so this shows the overhead and the correctness of the merge, not the gain that
workers on separate machines bring.

Reproduce: python -m benchmarks.ray_scaleout [--concurrency 64 --requests 2000 --ttft-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio

from benchmarks.sse_server import running
from benchmarks.transport import provider_for
from pytest_llmbench import LLMClient
from pytest_llmbench.config import ProviderConfig
from pytest_llmbench.distributed import DistributedRun, RequestItems, connect
from pytest_llmbench.load import LoadRun, LoadShape
from pytest_llmbench.stats import RunStats
from pytest_llmbench.types import Request


def row(label: str, stats: RunStats, ttft_ms: float) -> str:
    p50 = (stats.ttft_ms.p50 or 0.0) - ttft_ms
    p99 = (stats.ttft_ms.p99 or 0.0) - ttft_ms
    errors = f"  errors {stats.errors}" if stats.errors else ""
    return (
        f"  {label:18s} {stats.count:6d} req  {stats.requests_per_s or 0:8.1f} req/s  "
        f"TTFT error p50 {p50:7.2f} ms  p99 {p99:7.2f} ms{errors}"
    )


async def measure(url: str, args: argparse.Namespace) -> list[str]:
    provider = provider_for(url)
    request = Request(
        messages=[{"role": "user", "content": "x"}], max_tokens=args.tokens, stream=True
    )
    shape = LoadShape(concurrency=args.concurrency, count=args.requests)
    items = RequestItems.of([("x", request)])
    lines = [await one_process(provider, items, shape, "one process", args.ttft_ms)]
    connect(None)  # start Ray before timing anything
    for workers in (1, 2, 4):
        run = DistributedRun(provider, provider.model(), items, shape, workers=workers)
        stats = await run.run()
        lines.append(row(f"{workers} Ray worker{'s' if workers > 1 else ''}", stats, args.ttft_ms))
    # again at the end: the server and the machine are warm now, as for the Ray runs
    lines.append(await one_process(provider, items, shape, "one process again", args.ttft_ms))
    return lines


async def one_process(
    provider: ProviderConfig, items: RequestItems, shape: LoadShape, label: str, ttft_ms: float
) -> str:
    async with LLMClient(provider) as client:
        stats = await LoadRun(client, items.stream(), shape).run()
    return row(label, stats, ttft_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--ttft-ms", type=float, default=50.0)
    args = parser.parse_args()
    with running(args.ttft_ms) as url:
        lines = asyncio.run(measure(url, args))
    print(
        f"{args.requests} streams of {args.tokens} tokens at concurrency {args.concurrency}, "
        f"scripted TTFT {args.ttft_ms:g} ms, one local server:"
    )
    print("\n".join(lines))
    print(
        "reproduce: python -m benchmarks.ray_scaleout "
        f"--concurrency {args.concurrency} --requests {args.requests} "
        f"--tokens {args.tokens} --ttft-ms {args.ttft_ms:g}"
    )


if __name__ == "__main__":
    main()
