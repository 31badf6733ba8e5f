"""LLMBench: latency runs on a test's client, without pytest (the `llm_bench` fixture wraps it).

`await bench(request, rounds=10, warmup=1)` sends exactly warmup + rounds requests (no
calibration calls); `measure(async_fn)` times any awaited callable; `load(...)` runs a
concurrency- or rate-driven load; `sweep(...)` runs one load per concurrency or rate.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from pytest_llmbench.client import LLMClient
from pytest_llmbench.errors import ProviderError
from pytest_llmbench.load import (
    Arrivals,
    LoadRun,
    LoadShape,
    RequestSource,
    cycle_requests,
    failed_metrics,
)
from pytest_llmbench.metrics import NS_PER_MS, RequestMetrics
from pytest_llmbench.prompts import Selection, load_prompts, prompt_requests
from pytest_llmbench.stats import RunStats
from pytest_llmbench.types import Completion, Request

OnStats = Callable[[RunStats], None]


def _as_requests(requests: Request | str | Sequence[Request | str]) -> list[Request]:
    items = [requests] if isinstance(requests, Request | str) else list(requests)
    if not items:
        raise ValueError("no requests to run")
    return [
        r
        if isinstance(r, Request)
        else Request(messages=[{"role": "user", "content": r}], stream=True)
        for r in items
    ]


def _check_async_callable(fn: object) -> None:
    if inspect.iscoroutine(fn):
        fn.close()
        raise TypeError(
            "measure() needs the async function, not a coroutine it already made: "
            "write llm_bench.measure(lambda: client.call(...)), not measure(client.call(...))"
        )
    if not callable(fn):
        raise TypeError(f"measure() needs an async callable, got {type(fn).__name__}")


class LLMBench:
    """Latency runs against one client; every run's RunStats goes to `on_stats`."""

    def __init__(
        self,
        client: LLMClient,
        *,
        name: str = "",
        on_stats: OnStats | None = None,
        observed: list[RequestMetrics] | None = None,
    ) -> None:
        self.client = client
        self.name = name
        self.on_stats = on_stats
        # RequestMetrics of requests made by other clients on the same stack (SDKs), filled
        # in by an ObservingTransport: measure() uses them when a round made one request.
        self.observed: list[RequestMetrics] = observed if observed is not None else []

    def _done(self, stats: RunStats) -> RunStats:
        if self.on_stats is not None:
            self.on_stats(stats)
        return stats

    async def __call__(
        self, request: Request | str, *, rounds: int = 10, warmup: int = 1, **fields: Any
    ) -> RunStats:
        """Send `request` warmup + rounds times, one after another; stats of the rounds.

        `fields` are Request fields (`max_tokens=16`, `stream=False`), as `llm.complete` takes.
        """
        if rounds < 1 or warmup < 0:
            raise ValueError(f"rounds must be >= 1 and warmup >= 0, got {rounds} and {warmup}")
        requests = [r.model_copy(update=fields) for r in _as_requests(request)]
        shape = LoadShape(concurrency=1, count=rounds, warmup=warmup)
        run = LoadRun(self.client, cycle_requests(requests), shape, name=self.name)
        return self._done(await run.run())

    async def measure(
        self, fn: Callable[[], Awaitable[Any]], *, rounds: int = 10, warmup: int = 1
    ) -> RunStats:
        """Time an awaited callable (an official SDK call) per round.

        A round that made one request through `llm_http_client`/`llm_httpx2_client` gets that
        request's full metrics (TTFT, ITL, usage, cost); a Completion's metrics are used as
        they are; otherwise the round's e2e time is all that is known.
        """
        _check_async_callable(fn)
        for _ in range(warmup):
            await self._await(fn)
        metrics: list[RequestMetrics] = []
        start = time.perf_counter()
        for _ in range(rounds):
            metrics.append(await self._timed(fn))
        wall = time.perf_counter() - start
        stats = RunStats.from_metrics(
            metrics,
            wall_s=wall,
            name=self.name,
            provider=self.client.provider.name,
            model=self.client.model.id,
        )
        return self._done(stats)

    async def _await(self, fn: Callable[[], Awaitable[Any]]) -> Any:
        result = fn()
        if not inspect.isawaitable(result):
            raise TypeError(
                f"measure() needs an async callable; {getattr(fn, '__name__', fn)!r} returned "
                f"{type(result).__name__}, not an awaitable"
            )
        return await result

    async def _timed(self, fn: Callable[[], Awaitable[Any]]) -> RequestMetrics:
        started = time.perf_counter_ns()
        wall = time.time()
        seen = len(self.observed)
        try:
            result = await self._await(fn)
        except ProviderError as error:
            return failed_metrics(self.client, error, started)
        elapsed = (time.perf_counter_ns() - started) / NS_PER_MS
        if isinstance(result, Completion):
            return result.metrics
        made = self.observed[seen:]
        if len(made) == 1:
            return made[0]
        return RequestMetrics(
            provider=self.client.provider.name,
            model=self.client.model.id,
            started_at=wall,
            status=200,
            e2e_ms=elapsed,
            usage_estimated=True,
        )

    async def load(
        self,
        requests: Request | str | Sequence[Request | str] | None = None,
        *,
        prompts: str | Path | None = None,
        selection: Selection = "sequential",
        max_tokens: int | None = None,
        stream: bool = True,
        concurrency: int | None = None,
        rate: float | None = None,
        arrivals: Arrivals = "constant",
        count: int | None = None,
        duration: float | None = None,
        warmup: int = 0,
        seed: int | None = None,
        workers: int | None = None,
        cluster: str | None = None,
    ) -> RunStats:
        """Requests at a fixed concurrency or arrival rate; see LoadShape.

        The requests are given, or read from `prompts` (a file or a directory; see
        pytest_llmbench.prompts), taken in order or at random (`selection`, seeded by `seed`).
        `workers=N` (and/or `cluster="auto"` or `"ray://HOST:10001"`) shards the load over N
        Ray actors, on a new local Ray instance when no cluster is given; see
        pytest_llmbench.distributed.
        """
        if (requests is None) == (prompts is None):
            raise ValueError("give requests or prompts=PATH")
        shape = LoadShape(
            concurrency=concurrency,
            rate=rate,
            arrivals=arrivals,
            count=count,
            duration=duration,
            warmup=warmup,
            seed=seed,
        )
        if workers is not None or cluster is not None:
            return await self._load_distributed(
                requests, prompts, selection, max_tokens, stream, shape, workers or 1, cluster
            )
        source: RequestSource
        if prompts is not None:
            loaded = load_prompts(prompts)
            source = prompt_requests(loaded, selection, seed, max_tokens=max_tokens, stream=stream)
        else:
            assert requests is not None
            source = cycle_requests(_as_requests(requests))
        run = LoadRun(self.client, source, shape, name=self.name)
        return self._done(await run.run())

    async def _load_distributed(
        self,
        requests: Request | str | Sequence[Request | str] | None,
        prompts: str | Path | None,
        selection: Selection,
        max_tokens: int | None,
        stream: bool,
        shape: LoadShape,
        workers: int,
        cluster: str | None,
    ) -> RunStats:
        from pytest_llmbench.distributed import DistributedRun, RequestItems, prompt_items

        if prompts is not None:
            loaded = load_prompts(prompts)
            items = prompt_items(
                loaded, selection, shape.seed, max_tokens=max_tokens, stream=stream
            )
        else:
            assert requests is not None
            given = _as_requests(requests)
            items = RequestItems.of([(str(i), r) for i, r in enumerate(given)])
        run = DistributedRun(
            self.client.provider,
            self.client.model,
            items,
            shape,
            workers=workers,
            cluster=cluster,
            name=self.name,
        )
        return self._done(await run.run())

    async def sweep(
        self,
        requests: Request | str | Sequence[Request | str] | None = None,
        *,
        concurrencies: Sequence[int] = (),
        rates: Sequence[float] = (),
        **shape: Any,
    ) -> list[RunStats]:
        """One load per concurrency (or per rate), in order; names get `@c=N` / `@r=N`."""
        if bool(concurrencies) == bool(rates):
            raise ValueError("give concurrencies or rates")
        results = []
        base = self.name
        try:
            for concurrency in concurrencies:
                self.name = f"{base}@c={concurrency}"
                results.append(await self.load(requests, concurrency=concurrency, **shape))
            for rate in rates:
                self.name = f"{base}@r={rate:g}"
                results.append(await self.load(requests, rate=rate, **shape))
        finally:
            self.name = base
        return results
