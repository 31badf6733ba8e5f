"""DistributedRun: one load sharded over N Ray actors and merged back into one RunStats.

The controller connects to Ray (a new local instance, or a cluster), starts one ShardWorker
actor per shard, starts them together on the wall clock, collects their rows in batches while
they run, and merges the rows into the RunStats a one-process run would give. A worker that
dies keeps the rows it handed over; its missing requests become WorkerLostError rows.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from collections.abc import Callable
from typing import Any

from pytest_llmbench.config import ModelConfig, ProviderConfig
from pytest_llmbench.distributed.plan import RequestItems, ShardPlan, plan_shards
from pytest_llmbench.distributed.shard import ShardBatch, ShardResult, ShardSetup, ShardWorker
from pytest_llmbench.errors import LLMBenchError, WorkerLostError
from pytest_llmbench.load import LoadShape
from pytest_llmbench.metrics import RequestMetrics
from pytest_llmbench.stats import Distribution, RunStats, WorkerStats

log = logging.getLogger("pytest_llmbench.distributed")

RAY_MISSING = (
    "distributed load runs (workers=/cluster=, --workers/--ray) need Ray: "
    "pip install 'pytest-llmbench[ray]'"
)
START_LEAD_S = 0.25  # time for the start call to reach every worker before the common start


class DistributedSetupError(LLMBenchError):
    """A distributed run could not start: Ray missing, cluster unreachable, worker not ready."""


def require_ray() -> Any:
    """The `ray` module, imported on first use; a clear error naming the extra when missing."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise DistributedSetupError(RAY_MISSING) from None


def connect(cluster: str | None) -> Any:
    """Ray, connected: as already initialised in this process, else to `cluster`, else local.

    `cluster` None starts a new local instance (its workers inherit this process's
    environment, credentials included); "auto" joins the cluster this machine belongs to,
    "HOST:6379" the cluster of that head node; "ray://host:10001" connects through Ray Client.
    On a cluster the workers read credentials from the environment Ray was started in.
    """
    ray = require_ray()
    if not ray.is_initialized():
        address = "local" if cluster is None else cluster
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as error:
            where = "a local Ray instance" if cluster is None else f"Ray cluster {cluster!r}"
            raise DistributedSetupError(
                f"cannot start or reach {where}: {error}; check the address (auto, HOST:6379 or "
                "ray://HOST:10001) and that `ray start --head` runs there"
            ) from None
    return ray


OnResult = Callable[[RequestMetrics], None]


class DistributedRun:
    """A LoadShape over `workers` Ray actors; the same `run()`/`stop()` as a LoadRun."""

    def __init__(
        self,
        provider: ProviderConfig,
        model: ModelConfig,
        items: RequestItems,
        shape: LoadShape,
        *,
        workers: int,
        cluster: str | None = None,
        name: str = "",
        on_result: OnResult | None = None,
        poll_s: float = 0.2,
    ) -> None:
        self.plans: list[ShardPlan] = plan_shards(shape, workers)
        self.setups = [ShardSetup(provider, model, items, plan, name) for plan in self.plans]
        self.provider = provider
        self.model = model
        self.shape = shape
        self.cluster = cluster
        self.name = name
        self.on_result = on_result
        self.poll_s = poll_s
        self.actors: list[Any] = []
        self.results: list[RequestMetrics] = []
        self.lags_ms: list[float] = []
        self._lags: dict[int, list[float]] = {p.worker: [] for p in self.plans}
        self._rows: dict[int, int] = {p.worker: 0 for p in self.plans}
        self._started: dict[int, int] = {p.worker: 0 for p in self.plans}
        self._nodes: dict[int, str] = {}
        self._lost: dict[int, str] = {}
        self._walls: dict[int, float] = {}
        self._rates: dict[int, float | None] = {}
        self.stop_refs: list[Any] = []  # Ray refs of the stop calls, done once each shard stops
        self._stopping = False
        self._stop_sent = False

    def stop(self) -> None:
        """Stop every shard (Ctrl-C): no more dispatching; requests in flight finish."""
        self._stopping = True
        self._send_stop()

    def _send_stop(self) -> None:
        if self._stop_sent or not self.actors:
            return
        self._stop_sent = True
        for worker, actor in enumerate(self.actors):
            if worker not in self._lost:
                self.stop_refs.append(actor.stop.remote())

    async def run(self) -> RunStats:
        """Run every shard; the merged RunStats (also when a worker was lost)."""
        ray = connect(self.cluster)
        actor_class = ray.remote(ShardWorker)
        self.actors = [
            actor_class.options(scheduling_strategy="SPREAD").remote(plan.worker)
            for plan in self.plans
        ]
        try:
            await self._prepare(ray)
            start_at = time.time() + START_LEAD_S
            began = time.perf_counter()
            if self._stopping:
                self._send_stop()
            await self._collect(ray, start_at, began)
        except BaseException:
            self._send_stop()
            raise
        finally:
            for actor in self.actors:
                ray.kill(actor)
        return self.stats()

    async def _prepare(self, ray: Any) -> None:
        calls = [a.prepare.remote(s) for a, s in zip(self.actors, self.setups, strict=True)]
        problems = [p for p in await _gather(calls) if p is not None]
        if problems:
            raise DistributedSetupError("\n".join(problems))
        nodes = await _gather([a.where.remote() for a in self.actors])
        self._nodes = dict(enumerate(nodes))

    async def _collect(self, ray: Any, start_at: float, began: float) -> None:
        runs = {
            worker: asyncio.wrap_future(actor.run.remote(start_at).future())
            for worker, actor in enumerate(self.actors)
        }
        try:
            while runs:
                await asyncio.wait(runs.values(), timeout=self.poll_s)
                if self._stopping:
                    self._send_stop()
                for worker, done in list(runs.items()):
                    if done.done():
                        del runs[worker]
                        self._finish(ray, worker, done, began)
                await self._drain(ray, [w for w in runs if w not in self._lost], began)
        finally:
            for left in runs.values():  # cancelled or failed: nobody waits for these any more
                left.cancel()

    async def _drain(self, ray: Any, workers: list[int], began: float) -> None:
        calls = [asyncio.wrap_future(self.actors[w].drain.remote().future()) for w in workers]
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        for worker, outcome in zip(workers, outcomes, strict=True):
            if isinstance(outcome, ShardBatch):
                self._take(worker, outcome)
            elif isinstance(outcome, ray.exceptions.RayActorError):
                self._lose(worker, outcome, began)
            elif isinstance(outcome, BaseException):
                raise outcome

    def _finish(self, ray: Any, worker: int, done: asyncio.Future[Any], began: float) -> None:
        error = done.exception()
        if error is None:
            result: ShardResult = done.result()
            self._take(worker, result.last)
            self._walls[worker] = self.plans[worker].start_offset_s + result.wall_s
            self._rates[worker] = result.achieved_rate
        elif isinstance(error, ray.exceptions.RayActorError):
            self._lose(worker, error, began)
        elif isinstance(error, ray.exceptions.RayTaskError):
            cause = getattr(error, "cause", None)
            raise cause if isinstance(cause, BaseException) else error
        else:
            raise error

    def _take(self, worker: int, batch: ShardBatch) -> None:
        self._rows[worker] += len(batch.rows)
        self._started[worker] = max(self._started[worker], batch.started)
        self._lags[worker] += batch.lags_ms
        self.lags_ms += batch.lags_ms
        for row in batch.rows:
            self.results.append(row)
            if self.on_result is not None:
                self.on_result(row)

    def _lose(self, worker: int, error: BaseException, began: float) -> None:
        if worker in self._lost:
            return
        node = self._nodes.get(worker, "?")
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        self._lost[worker] = f"lost mid-run on {node}: {reason}"
        self._walls[worker] = time.perf_counter() - began - START_LEAD_S
        planned = self.plans[worker].shape.count
        expected = planned if planned is not None and not self._stopping else self._started[worker]
        missing = max(0, expected - self._rows[worker])
        log.warning("worker %d %s; %d requests counted lost", worker, self._lost[worker], missing)
        message = (
            f"worker {worker} ({node}) died before reporting this request; its completed "
            "requests are kept"
        )
        for _ in range(missing):
            row = RequestMetrics(
                provider=self.provider.name,
                model=self.model.id,
                started_at=time.time(),
                status=WorkerLostError.__name__,
                error=WorkerLostError.__name__,
                error_message=message,
                worker=worker,
            )
            self._take(worker, ShardBatch(rows=[row]))

    def stats(self, wall_s: float | None = None) -> RunStats:
        """The merged RunStats of the rows reported so far; `wall_s` stands in for the
        shards' own wall times while none has reported one (a run stopped early)."""
        rows = sorted(self.results, key=lambda m: m.started_at)
        wall = max(self._walls.values(), default=wall_s or 0.0)
        stats = RunStats.from_metrics(
            rows,
            wall_s=wall,
            name=self.name,
            provider=self.provider.name,
            model=self.model.id,
            dispatch_lags_ms=self.lags_ms,
        )
        rates = [self._rates.get(p.worker) for p in self.plans]
        if self.shape.rate is not None and any(r is not None for r in rates):
            stats.achieved_rate = sum(r for r in rates if r is not None)
        stats.workers = [
            WorkerStats(
                worker=plan.worker,
                node=self._nodes.get(plan.worker, ""),
                planned=plan.shape.count,
                count=self._rows[plan.worker],
                dispatch_lag_ms=Distribution.of(self._lags[plan.worker]),
                lost=self._lost.get(plan.worker),
            )
            for plan in self.plans
        ]
        return stats


def worker_lines(stats: RunStats) -> list[str]:
    """One line per worker of a distributed run: its requests, dispatch lag and fate."""
    lines = []
    for worker in stats.workers:
        lag = worker.dispatch_lag_ms
        lag_text = (
            f", dispatch lag p50 {lag.p50:.2f} ms p99 {lag.p99:.2f} ms"
            if lag.p50 is not None and lag.p99 is not None
            else ""
        )
        fate = f"; {worker.lost}" if worker.lost else ""
        lines.append(
            f"worker {worker.worker} ({worker.node}): {worker.count} requests{lag_text}{fate}"
        )
    return lines


async def _gather(refs: list[Any]) -> list[Any]:
    return list(await asyncio.gather(*(asyncio.wrap_future(r.future()) for r in refs)))
