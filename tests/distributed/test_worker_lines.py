"""The per-worker lines `llmbench run --workers N` prints after a distributed run."""

from __future__ import annotations

from pytest_llmbench.distributed import worker_lines
from pytest_llmbench.stats import Distribution, RunStats, WorkerStats


def test_each_worker_gets_its_dispatch_lag_and_its_fate() -> None:
    stats = RunStats(
        workers=[
            WorkerStats(
                worker=0, node="a:1", count=3, dispatch_lag_ms=Distribution.of([1.0, 2.0, 3.0])
            ),
            WorkerStats(worker=1, node="b:2", count=2, lost="lost mid-run on b:2: killed"),
        ]
    )
    assert worker_lines(stats) == [
        "worker 0 (a:1): 3 requests, dispatch lag p50 2.00 ms p99 2.98 ms",
        "worker 1 (b:2): 2 requests; lost mid-run on b:2: killed",
    ]


def test_a_one_process_run_has_no_worker_lines() -> None:
    assert worker_lines(RunStats()) == []
