"""DistributedRun on a local Ray instance with 2 workers against a loopback server."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

from distributed_helpers import CANARY, Hold, loopback_provider
from loopback import Server

from pytest_llmbench.distributed import DistributedRun, prompt_items
from pytest_llmbench.load import LoadShape
from pytest_llmbench.metrics import RequestMetrics
from pytest_llmbench.prompts import prompt_of
from pytest_llmbench.stats import RunStats

PROMPTS = [prompt_of(f"prompt {i}", f"p{i}") for i in range(20)]


def distributed(server: Server, shape: LoadShape, **options: Any) -> DistributedRun:
    provider = loopback_provider(server)
    items = prompt_items(PROMPTS, "sequential", None, max_tokens=5, stream=True)
    return DistributedRun(
        provider, provider.model(), items, shape, workers=2, poll_s=0.02, **options
    )


def files_containing(folder: Path, needle: bytes) -> list[Path]:
    return [
        path
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink() and needle in path.read_bytes()
    ]


async def run_with_timeout(run: DistributedRun) -> RunStats:
    return await asyncio.wait_for(run.run(), timeout=300)  # a hang fails instead of blocking


async def test_counts_are_exact_and_rows_merge_into_one_run(
    ray_local: Any, sse_server: tuple[Server, list[Hold]]
) -> None:
    server, _ = sse_server
    stats = await run_with_timeout(distributed(server, LoadShape(concurrency=4, count=40)))
    assert (stats.count, stats.ok, stats.errors) == (40, 40, {})
    assert len(server.seen) == 40
    assert Counter(m.prompt_id for m in stats.requests) == Counter(
        f"p{i}" for i in range(20) for _ in range(2)
    )
    assert Counter(m.worker for m in stats.requests) == {0: 20, 1: 20}
    assert [(w.worker, w.planned, w.count, w.lost) for w in stats.workers] == [
        (0, 20, 20, None),
        (1, 20, 20, None),
    ]
    assert [m.started_at for m in stats.requests] == sorted(m.started_at for m in stats.requests)
    assert stats.ttft_ms.count == 40 and stats.output_tokens == 80


async def test_rate_runs_report_dispatch_lag_per_worker_and_overall(
    ray_local: Any, sse_server: tuple[Server, list[Hold]]
) -> None:
    server, _ = sse_server
    shape = LoadShape(rate=200.0, arrivals="constant", count=10)
    stats = await run_with_timeout(distributed(server, shape))
    assert stats.count == 10
    assert [w.dispatch_lag_ms.count for w in stats.workers] == [5, 5]
    assert stats.dispatch_lag_ms.count == 10
    assert stats.achieved_rate is not None


async def test_the_key_reaches_workers_only_through_their_environment(
    ray_local: Any, sse_server: tuple[Server, list[Hold]]
) -> None:
    server, _ = sse_server
    run = distributed(server, LoadShape(concurrency=2, count=4))
    await run_with_timeout(run)
    # the workers did authenticate with it ...
    assert {s.headers["authorization"] for s in server.seen} == {f"Bearer {CANARY}"}
    # ... yet it is in no task argument and no Ray log or session file
    assert CANARY.encode() not in ray_local.cloudpickle.dumps(run.setups)
    session = Path(ray_local._private.worker.global_worker.node.get_session_dir_path())
    assert files_containing(session, CANARY.encode()) == []


async def test_a_killed_worker_keeps_its_rows_and_counts_the_rest_lost(
    ray_local: Any, sse_server: tuple[Server, list[Hold]]
) -> None:
    server, holds = sse_server
    never = asyncio.Event()  # worker 1's requests after its first hang until the server closes
    holds.append(
        lambda text: never if int(text.split()[1]) % 2 == 1 and text != "prompt 1" else None
    )
    run = distributed(server, LoadShape(concurrency=2, count=20))

    def kill_worker_1_after_its_first_row(metrics: RequestMetrics) -> None:
        if metrics.worker == 1 and metrics.error is None:
            ray_local.kill(run.actors[1])

    run.on_result = kill_worker_1_after_its_first_row
    stats = await run_with_timeout(run)
    assert (stats.count, stats.ok) == (20, 11)
    assert stats.errors == {"WorkerLostError": 9}
    lost = stats.workers[1]
    assert lost.lost is not None and "lost mid-run" in lost.lost
    assert stats.workers[0].lost is None
    assert Counter(m.worker for m in stats.requests if m.error is None) == {0: 10, 1: 1}


async def test_stop_ends_every_shard(ray_local: Any, sse_server: tuple[Server, list[Hold]]) -> None:
    server, holds = sse_server
    release = asyncio.Event()
    holds.append(lambda text: None if text in ("prompt 0", "prompt 1") else release)
    run = distributed(server, LoadShape(concurrency=2, count=200))
    acknowledged: list[asyncio.Task[None]] = []

    async def release_once_stopped() -> None:
        await asyncio.gather(*(asyncio.wrap_future(ref.future()) for ref in run.stop_refs))
        release.set()

    def stop_at_first_row(metrics: RequestMetrics) -> None:
        if not acknowledged:
            run.stop()  # what Ctrl-C does in `llmbench run`
            acknowledged.append(asyncio.ensure_future(release_once_stopped()))

    run.on_result = stop_at_first_row
    stats = await run_with_timeout(run)
    # each worker finishes at most its first and its one request in flight, then stops
    assert 1 <= stats.count <= 4
    assert stats.errors == {}
    assert len(server.seen) == stats.count
    assert all(w.lost is None for w in stats.workers)
