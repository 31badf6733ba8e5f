"""ShardWorker: one worker of a distributed load, run as an async Ray actor (or plainly, in tests).

It builds its own LLMClient (its own HTTP pool), reads the API key from its own environment,
runs the ordinary LoadRun on its shard and hands the finished rows back in batches (`drain`),
so a worker that dies mid-run loses only what it had not yet handed over.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from dataclasses import dataclass, field

from pytest_llmbench.client import LLMClient
from pytest_llmbench.config import ModelConfig, ProviderConfig
from pytest_llmbench.distributed.plan import RequestItems, ShardPlan
from pytest_llmbench.load import LoadRun, RequestSource
from pytest_llmbench.metrics import RequestMetrics
from pytest_llmbench.providers import codec_for


@dataclass(frozen=True)
class ShardSetup:
    """Everything a worker is sent. No credential: the worker reads those from its environment."""

    provider: ProviderConfig
    model: ModelConfig
    items: RequestItems
    plan: ShardPlan
    name: str = ""


@dataclass
class ShardBatch:
    """Rows finished since the last batch, with their dispatch lags; `started` so far."""

    rows: list[RequestMetrics] = field(default_factory=list)
    lags_ms: list[float] = field(default_factory=list)
    started: int = 0  # measured requests this worker has started (warmup excluded)


@dataclass
class ShardResult:
    """The end of a worker's run: its last batch and the figures of its LoadRun."""

    last: ShardBatch
    wall_s: float
    achieved_rate: float | None


class ShardWorker:
    """The body of one load worker. Methods are async so that Ray runs it as an async actor."""

    def __init__(self, worker: int) -> None:
        self.worker = worker
        self.node = f"{socket.gethostname()}:{os.getpid()}"
        self._setup: ShardSetup | None = None
        self._client: LLMClient | None = None
        self._run: LoadRun | None = None
        self._rows: list[RequestMetrics] = []
        self._lags_sent = 0
        self._pulled = 0
        self._stopping = False

    async def prepare(self, setup: ShardSetup) -> str | None:
        """Build the client; None when ready, else why not (a message naming the fix)."""
        missing = codec_for(setup.provider.kind).credentials(setup.provider).missing
        if missing:
            return (
                f"worker {self.worker} on {self.node}: {missing} in its environment; "
                "a local Ray instance inherits it from the process that starts it, a cluster "
                f"needs it set where `ray start` runs on every node (see 'Beyond one machine')"
            )
        self._setup = setup
        self._client = LLMClient(setup.provider, setup.model)
        return None

    async def where(self) -> str:
        """The host name and process id of this worker."""
        return self.node

    async def run(self, start_at: float) -> ShardResult:
        """Wait for the common start (wall clock), run the shard, return the last batch."""
        setup, client = self._setup, self._client
        if setup is None or client is None:
            raise RuntimeError("ShardWorker.run() before prepare()")
        delay = start_at + setup.plan.start_offset_s - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        run = LoadRun(
            client,
            self._counted(setup.items.shard(setup.plan)),
            setup.plan.shape,
            name=setup.name,
            on_result=self._finished,
        )
        self._run = run
        if self._stopping:
            run.stop()
        try:
            stats = await run.run()
        finally:
            await client.aclose()
        return ShardResult(self.drain_now(), stats.wall_s, stats.achieved_rate)

    def _counted(self, source: RequestSource) -> RequestSource:
        for item in source:
            self._pulled += 1
            yield item

    def _finished(self, metrics: RequestMetrics) -> None:
        metrics.worker = self.worker
        self._rows.append(metrics)

    async def drain(self) -> ShardBatch:
        """The rows finished since the last batch."""
        return self.drain_now()

    def drain_now(self) -> ShardBatch:
        rows, self._rows = self._rows, []
        lags: list[float] = []
        if self._run is not None:
            lags = self._run.lags_ms[self._lags_sent :]
            self._lags_sent += len(lags)
        warmup = self._setup.plan.shape.warmup if self._setup else 0
        return ShardBatch(rows, lags, max(0, self._pulled - warmup))

    async def stop(self) -> None:
        """Stop dispatching; requests in flight finish and `run` returns."""
        self._stopping = True
        if self._run is not None:
            self._run.stop()
