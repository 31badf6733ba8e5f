"""RunStats aggregation and percentiles."""

from __future__ import annotations

import pytest

from pytest_llmbench.metrics import RequestMetrics
from pytest_llmbench.stats import Distribution, RunStats, percentile


def test_percentile_interpolates_linearly() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 50) == 2.5
    assert percentile(values, 100) == 4.0
    assert percentile(values, 90) == pytest.approx(3.7)
    assert percentile([5.0], 99) == 5.0


def test_distribution_of_nothing_is_empty() -> None:
    assert Distribution.of([None, None]) == Distribution()


def test_distribution_summary() -> None:
    dist = Distribution.of([3.0, 1.0, None, 2.0])
    assert (dist.count, dist.min, dist.p50, dist.max, dist.mean) == (3, 1.0, 2.0, 3.0, 2.0)


def ok(ttft: float, tokens: int, gaps: list[float], cost: float = 0.01) -> RequestMetrics:
    return RequestMetrics(
        provider="p", model="m", ttft_ms=ttft, e2e_ms=ttft + sum(gaps), output_tokens=tokens,
        input_tokens=5, chunk_gaps_ms=gaps, cost_usd=cost, bytes=100, output_tps=10.0, replayed=True,
    )  # fmt: skip


def test_run_stats_count_errors_and_throughput() -> None:
    failed = RequestMetrics(provider="p", model="m", error="RateLimitError", status=429, e2e_ms=1.0)
    stats = RunStats.from_metrics([ok(10, 4, [1, 2]), ok(20, 6, [3]), failed], wall_s=2.0)
    assert (stats.count, stats.ok, stats.errors) == (3, 2, {"RateLimitError": 1})
    assert stats.error_rate == pytest.approx(1 / 3)
    assert stats.ttft_ms.p50 == 15.0
    assert stats.chunk_gap_ms.count == 3
    assert stats.throughput_tps == 5.0  # 10 output tokens over 2 s
    assert stats.requests_per_s == 1.5
    assert stats.cost_usd == pytest.approx(0.02)
    assert stats.bytes == 200
    assert not stats.replayed  # the failed one was not replayed
    assert stats.id == "p:m"
