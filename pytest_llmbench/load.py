"""The load runner: requests at a fixed concurrency or arrival rate, with warmup, into RunStats.

Used by the `llm_bench` fixture and by `llmbench run`. Rate-driven runs report the achieved
rate and the dispatch lag (actual minus scheduled send time), so an overloaded client shows.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from pytest_llmbench import metering
from pytest_llmbench.client import LLMClient
from pytest_llmbench.heap import frozen_heap
from pytest_llmbench.metrics import RequestMetrics
from pytest_llmbench.stats import RunStats
from pytest_llmbench.types import Request

Arrivals = Literal["poisson", "constant"]
OnResult = Callable[[RequestMetrics], None]


@dataclass(frozen=True)
class LoadShape:
    """How requests are sent: `concurrency` workers, or `rate` arrivals per second.

    The run ends after `count` requests or `duration` seconds, whichever is given (both: the
    first reached).
    """

    concurrency: int | None = None
    rate: float | None = None
    arrivals: Arrivals = "constant"
    count: int | None = None
    duration: float | None = None
    warmup: int = 0
    seed: int | None = None

    def __post_init__(self) -> None:
        if (self.concurrency is None) == (self.rate is None):
            raise ValueError("give exactly one of concurrency or rate")
        if self.concurrency is not None and self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {self.concurrency}")
        if self.rate is not None and self.rate <= 0:
            raise ValueError(f"rate must be positive, got {self.rate}")
        if self.count is None and self.duration is None:
            raise ValueError("give count or duration")
        if self.count is not None and self.count < 1:
            raise ValueError(f"count must be at least 1, got {self.count}")
        if self.duration is not None and self.duration <= 0:
            raise ValueError(f"duration must be positive, got {self.duration}")
        if self.warmup < 0:
            raise ValueError(f"warmup cannot be negative, got {self.warmup}")


def failed_metrics(client: LLMClient, error: Exception, started_ns: int) -> RequestMetrics:
    """The row of a request that failed: its error class, status, retries and time to failure."""
    return metering.failed_metrics(client.provider, client.model, error, started_ns)


async def send_one(client: LLMClient, request: Request, prompt_id: str = "") -> RequestMetrics:
    """One request; its metrics, or the failure's row. A failure never stops the run."""
    started = time.perf_counter_ns()
    try:
        completion = await client.complete(request)
    except Exception as error:  # even a bug is one request's row: the others still count
        metrics = failed_metrics(client, error, started)
    else:
        metrics = completion.metrics
    metrics.prompt_id = prompt_id
    return metrics


RequestSource = Iterator[tuple[str, Request]]


class LoadRun:
    """One run of a LoadShape against a client. `stop()` ends dispatching early (Ctrl-C)."""

    def __init__(
        self,
        client: LLMClient,
        requests: RequestSource,
        shape: LoadShape,
        *,
        name: str = "",
        on_result: OnResult | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.client = client
        self.requests = requests
        self.shape = shape
        self.name = name
        self.on_result = on_result
        self._sleep = sleep
        self._clock = clock
        self._stopping = False
        self.results: list[RequestMetrics] = []
        self.lags_ms: list[float] = []
        self.schedule_s: list[float] = []  # rate-driven: planned send times from the start
        self.starts_s: list[float] = []  # rate-driven: actual send times from the start
        self._warming = False  # warmup requests are sent like the others but not kept

    def stop(self) -> None:
        self._stopping = True

    def _more(self, sent: int, deadline: float | None) -> bool:
        if self._stopping:
            return False
        count = self.shape.warmup if self._warming else self.shape.count
        if count is not None and sent >= count:
            return False
        return deadline is None or self._clock() < deadline

    async def _send(self) -> None:
        prompt_id, request = next(self.requests)
        metrics = await send_one(self.client, request, prompt_id)
        if self._warming:
            return
        self.results.append(metrics)
        if self.on_result is not None:
            self.on_result(metrics)

    async def run(self) -> RunStats:
        with frozen_heap():  # no full garbage collection of the heap inside the timings
            return await self._run()

    async def _run(self) -> RunStats:
        if self.shape.warmup:
            # At the load's own concurrency or rate: the measured phase finds as many warm
            # connections as it will use, not one.
            self._warming = True
            try:
                await self._phase(self._clock(), None)
            finally:
                self._warming = False
        start = self._clock()
        deadline = start + self.shape.duration if self.shape.duration is not None else None
        await self._phase(start, deadline)
        return self.stats(self._clock() - start)

    def stats(self, wall_s: float) -> RunStats:
        """The RunStats of the requests finished so far (all of them once `run` returned);
        a stopped run's front end calls it with the time the run had."""
        stats = RunStats.from_metrics(
            self.results,
            wall_s=wall_s,
            name=self.name,
            provider=self.client.provider.name,
            model=self.client.model.id,
            dispatch_lags_ms=self.lags_ms,
        )
        if self.shape.rate is not None:
            stats.achieved_rate = started_rate(self.starts_s)
        return stats

    async def _phase(self, start: float, deadline: float | None) -> None:
        if self.shape.concurrency is not None:
            await self._closed_loop(self.shape.concurrency, deadline)
        else:
            await self._open_loop(start, deadline)

    async def _closed_loop(self, concurrency: int, deadline: float | None) -> None:
        sent = 0

        async def worker() -> None:
            nonlocal sent
            while self._more(sent, deadline):
                sent += 1
                await self._send()

        await _all_or_cancel([asyncio.ensure_future(worker()) for _ in range(concurrency)])

    async def _open_loop(self, start: float, deadline: float | None) -> None:
        assert self.shape.rate is not None
        rng = random.Random(self.shape.seed)
        interval = 1.0 / self.shape.rate
        scheduled = start
        tasks: list[asyncio.Future[None]] = []
        sent = 0
        while self._more(sent, deadline):
            delay = scheduled - self._clock()
            if delay > 0:
                await self._sleep(delay)
                if not self._more(sent, deadline):
                    break
            now = self._clock()
            if not self._warming:
                self.schedule_s.append(scheduled - start)
                self.starts_s.append(now - start)
                self.lags_ms.append((now - scheduled) * 1000)
            tasks.append(asyncio.ensure_future(self._send()))
            if tasks[0].done():  # surface a failure (not a ProviderError) without waiting
                tasks.pop(0).result()
            sent += 1
            if self.shape.arrivals == "poisson":
                scheduled += rng.expovariate(self.shape.rate)
            else:  # multiplied, not summed: no drift from adding a rounded interval
                scheduled = start + sent * interval
        await _all_or_cancel(tasks)


def started_rate(starts_s: Sequence[float]) -> float | None:
    """Requests started per second over the time they were started in (the drain excluded)."""
    if len(starts_s) < 2:
        return None
    span = starts_s[-1] - starts_s[0]
    return (len(starts_s) - 1) / span if span > 0 else None


async def _all_or_cancel(tasks: list[asyncio.Future[None]]) -> None:
    """Wait for every task; if one fails, cancel the others and raise its error."""
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def cycle_requests(requests: list[Request], ids: list[str] | None = None) -> RequestSource:
    """Requests in order, forever, with ids (default: their position)."""
    names = ids or [str(i) for i in range(len(requests))]
    while True:
        yield from zip(names, requests, strict=True)
