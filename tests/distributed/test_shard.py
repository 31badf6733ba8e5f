"""ShardWorker without Ray: the actor body runs its shard and hands rows back in batches."""

from __future__ import annotations

import asyncio

import pytest
from distributed_helpers import CANARY, CANARY_ENV, Hold, loopback_provider, prompt_text
from loopback import Server

from pytest_llmbench.distributed import plan_shards, prompt_items
from pytest_llmbench.distributed.shard import ShardSetup, ShardWorker
from pytest_llmbench.load import LoadShape
from pytest_llmbench.prompts import prompt_of

PROMPTS = [prompt_of(f"prompt {i}", f"p{i}") for i in range(4)]


def setup_for(server: Server, worker: int, shape: LoadShape, workers: int = 2) -> ShardSetup:
    provider = loopback_provider(server)
    items = prompt_items(PROMPTS, "sequential", None, max_tokens=5, stream=True)
    return ShardSetup(provider, provider.model(), items, plan_shards(shape, workers)[worker])


async def test_rows_come_back_in_batches_while_the_shard_runs(
    sse_server: tuple[Server, list[Hold]], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, holds = sse_server
    monkeypatch.setenv(CANARY_ENV, CANARY)
    release = asyncio.Event()
    first_done = asyncio.Event()
    holds.append(lambda text: None if text == "prompt 1" else release)
    worker = ShardWorker(1)
    assert await worker.prepare(setup_for(server, 1, LoadShape(concurrency=2, count=4))) is None
    original = worker._finished

    def finished(metrics):  # type: ignore[no-untyped-def]
        original(metrics)
        first_done.set()

    worker._finished = finished  # type: ignore[method-assign]
    running = asyncio.ensure_future(worker.run(start_at=0.0))
    await first_done.wait()
    batch = await worker.drain()
    release.set()
    result = await running
    # worker 1 of 2 owns prompts 1 and 3; prompt 1 came back before the run ended
    assert [(m.prompt_id, m.worker) for m in batch.rows] == [("p1", 1)]
    assert batch.started == 2
    assert [(m.prompt_id, m.worker) for m in result.last.rows] == [("p3", 1)]
    assert [prompt_text(s) for s in server.seen] == ["prompt 1", "prompt 3"]


async def test_a_worker_without_the_key_says_where_to_set_it(
    sse_server: tuple[Server, list[Hold]], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = sse_server
    monkeypatch.delenv(CANARY_ENV, raising=False)
    problem = await ShardWorker(0).prepare(setup_for(server, 0, LoadShape(concurrency=2, count=4)))
    assert problem is not None
    assert f"{CANARY_ENV} is not set in its environment" in problem
    assert "ray start" in problem
