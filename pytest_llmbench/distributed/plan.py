"""The sharding plan: how one LoadShape and one prompt sequence split over N workers.

Pure arithmetic, no Ray, so every rule is unit-tested:

- concurrency C: worker k holds C // N requests in flight, the first C % N workers one more;
- arrival rate R: each worker runs an independent stream of rate R / N (Poisson streams with
  per-worker seeds, so the merged arrivals are Poisson with rate R); constant arrivals are
  phase-shifted by k / R, so the merged schedule is exactly one request every 1 / R seconds;
- count: split exactly; worker k sends the requests of the global indices it owns;
- prompts: global request index i belongs to worker `(i mod P) mod N`, with period P = C in
  concurrency runs and P = N in rate runs (plain round robin `i mod N` whenever N divides C).
  Every worker walks the one global prompt sequence (sequential, or random with the run's seed)
  and takes the indices it owns, in order: the union of the shards is exactly the sequence a
  one-process run sends, and each shard keeps its part of it in the original order.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from pytest_llmbench.load import LoadShape, RequestSource
from pytest_llmbench.prompts import Prompt, Selection
from pytest_llmbench.types import Request

RequestItem = tuple[str, Request]


@dataclass(frozen=True)
class ShardPlan:
    """What worker `worker` of `workers` runs: its own LoadShape and where it starts."""

    worker: int
    workers: int
    shape: LoadShape
    period: int  # the ownership period P: global index i belongs to (i % P) % workers
    start_offset_s: float = 0.0  # constant arrivals: the phase of this worker's stream

    def owns(self, index: int) -> bool:
        """Whether global request index `index` is this worker's."""
        return owner(index, self.period, self.workers) == self.worker


def owner(index: int, period: int, workers: int) -> int:
    """The worker that sends global request `index`."""
    return (index % period) % workers


def shard_seed(seed: int | None, worker: int) -> int | None:
    """A per-worker seed derived from the run's seed (None stays None: unseeded)."""
    if seed is None:
        return None
    digest = hashlib.sha256(f"pytest-llmbench shard {seed} {worker}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _owned_count(count: int, period: int, workers: int, worker: int) -> int:
    per_period = sum(1 for j in range(period) if j % workers == worker)
    rest = sum(1 for j in range(count % period) if j % workers == worker)
    return count // period * per_period + rest


def plan_shards(shape: LoadShape, workers: int) -> list[ShardPlan]:
    """The shards of `shape` over `workers` workers; ValueError when one would have no work."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if shape.concurrency is not None and shape.concurrency < workers:
        raise ValueError(
            f"concurrency {shape.concurrency} is below workers {workers}: each worker needs "
            "at least one request in flight; lower workers or raise concurrency"
        )
    if shape.count is not None and shape.count < workers:
        raise ValueError(
            f"count {shape.count} is below workers {workers}: each worker needs at least one "
            "request; lower workers or raise count"
        )
    period = shape.concurrency if shape.concurrency is not None else workers
    plans = []
    for worker in range(workers):
        offset = 0.0
        concurrency = rate = None
        if shape.concurrency is not None:
            concurrency = shape.concurrency // workers + (worker < shape.concurrency % workers)
        else:
            assert shape.rate is not None
            rate = shape.rate / workers
            if shape.arrivals == "constant":
                offset = worker / shape.rate
        duration = shape.duration
        if duration is not None:
            duration -= offset
            if duration <= 0:
                raise ValueError(
                    f"duration {shape.duration:g} s is too short for {workers} workers at rate "
                    f"{shape.rate:g}/s: worker {worker} would start after it ends"
                )
        count = None if shape.count is None else _owned_count(shape.count, period, workers, worker)
        own = replace(
            shape,
            concurrency=concurrency,
            rate=rate,
            count=count,
            duration=duration,
            seed=shard_seed(shape.seed, worker),
        )
        plans.append(ShardPlan(worker, workers, own, period, offset))
    return plans


@dataclass(frozen=True)
class RequestItems:
    """The requests of a run as data (picklable, sent to every worker): ids and Requests,
    taken in order or at random with `seed`, exactly as `prompts.prompt_stream` takes them."""

    items: tuple[RequestItem, ...]
    selection: Selection = "sequential"
    seed: int | None = None

    @classmethod
    def of(
        cls,
        items: Sequence[RequestItem],
        selection: Selection = "sequential",
        seed: int | None = None,
    ) -> RequestItems:
        if not items:
            raise ValueError("no requests to run")
        return cls(tuple(items), selection, seed)

    def stream(self) -> RequestSource:
        """The global request sequence, endless: what a one-process run would send."""
        if self.selection == "random":
            rng = random.Random(self.seed)
            while True:
                yield rng.choice(self.items)
        while True:
            yield from self.items

    def shard(self, plan: ShardPlan) -> RequestSource:
        """The part of the global sequence that `plan`'s worker owns, in order."""
        return _owned(self.stream(), plan)


def prompt_items(
    prompts: Sequence[Prompt],
    selection: Selection,
    seed: int | None,
    *,
    max_tokens: int | None,
    stream: bool,
) -> RequestItems:
    """RequestItems of loaded prompts, as `prompt_stream` would take them."""
    pairs = [(p.id, p.request(max_tokens=max_tokens, stream=stream)) for p in prompts]
    return RequestItems.of(pairs, selection, seed)


def _owned(stream: Iterator[RequestItem], plan: ShardPlan) -> Iterator[RequestItem]:
    for index, item in enumerate(stream):
        if plan.owns(index):
            yield item
