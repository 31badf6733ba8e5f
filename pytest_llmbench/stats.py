"""RunStats: the aggregate of a run's RequestMetrics, the same in every report and the CLI.

Aggregates report count, mean, min, p50, p90, p95, p99, max (docs/architecture.md, "Metric
definitions"). Percentiles use linear interpolation between closest ranks (numpy's default).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, Field

from pytest_llmbench.metrics import RequestMetrics

PERCENTILES = (50, 90, 95, 99)


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) of already sorted values, linearly interpolated."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    rank = (len(sorted_values) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


class Distribution(BaseModel):
    """Summary of one measured quantity over a run; all None when nothing was measured."""

    count: int = 0
    mean: float | None = None
    min: float | None = None
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    max: float | None = None

    @classmethod
    def of(cls, values: Iterable[float | None]) -> Distribution:
        data = sorted(v for v in values if v is not None)
        if not data:
            return cls()
        return cls(
            count=len(data),
            mean=sum(data) / len(data),
            min=data[0],
            p50=percentile(data, 50),
            p90=percentile(data, 90),
            p95=percentile(data, 95),
            p99=percentile(data, 99),
            max=data[-1],
        )

    def get(self, name: str) -> float | None:
        """A statistic by name (`mean`, `p95`, ...), for regression rules and tables."""
        value = getattr(self, name)
        return None if value is None else float(value)


class WorkerStats(BaseModel):
    """One worker's share of a distributed run: its requests, dispatch lag and fate."""

    worker: int
    node: str = ""  # where it ran (host name and process id)
    planned: int | None = None  # requests planned for it (count-driven runs)
    count: int = 0  # rows it reported (or that were counted lost for it)
    dispatch_lag_ms: Distribution = Field(default_factory=Distribution)
    lost: str | None = None  # why the worker was lost mid-run, if it was


class RunStats(BaseModel):
    """Statistics of one run (one test's benchmark, or one CLI load) for one provider:model."""

    name: str = ""
    provider: str = ""
    model: str = ""
    count: int = 0
    ok: int = 0
    errors: dict[str, int] = Field(default_factory=dict)
    retries: int = 0
    wall_s: float = 0.0
    ttfb_ms: Distribution = Field(default_factory=Distribution)
    ttft_ms: Distribution = Field(default_factory=Distribution)
    e2e_ms: Distribution = Field(default_factory=Distribution)
    itl_ms: Distribution = Field(default_factory=Distribution)
    chunk_gap_ms: Distribution = Field(default_factory=Distribution)
    output_tps: Distribution = Field(default_factory=Distribution)
    throughput_tps: float | None = None  # total output tokens / wall time of the run
    requests_per_s: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0  # None: unknown (a successful request had no prices)
    bytes: int = 0
    usage_estimated: bool = False
    replayed: bool = False
    achieved_rate: float | None = None  # requests started per second (rate-driven loads)
    dispatch_lag_ms: Distribution = Field(default_factory=Distribution)
    workers: list[WorkerStats] = Field(default_factory=list)  # distributed runs only
    requests: list[RequestMetrics] = Field(default_factory=list)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def error_rate(self) -> float:
        return self.error_count / self.count if self.count else 0.0

    @property
    def id(self) -> str:
        return f"{self.provider}:{self.model}"

    @classmethod
    def from_metrics(
        cls,
        metrics: Sequence[RequestMetrics],
        *,
        wall_s: float,
        name: str = "",
        provider: str = "",
        model: str = "",
        dispatch_lags_ms: Sequence[float] = (),
    ) -> RunStats:
        """Aggregate per-request metrics; failed requests count in `errors`, not in timings."""
        ok = [m for m in metrics if m.error is None]
        errors = Counter(m.error for m in metrics if m.error is not None)
        output_tokens = sum(m.output_tokens for m in ok)
        first = metrics[0] if metrics else None
        return cls(
            name=name,
            provider=provider or (first.provider if first else ""),
            model=model or (first.model if first else ""),
            count=len(metrics),
            ok=len(ok),
            errors=dict(errors),
            retries=sum(m.retries for m in metrics),
            wall_s=wall_s,
            ttfb_ms=Distribution.of(m.ttfb_ms for m in ok),
            ttft_ms=Distribution.of(m.ttft_ms for m in ok),
            e2e_ms=Distribution.of(m.e2e_ms for m in ok),
            itl_ms=Distribution.of(m.itl_ms for m in ok),
            chunk_gap_ms=Distribution.of(g for m in ok for g in m.chunk_gaps_ms),
            output_tps=Distribution.of(m.output_tps for m in ok),
            throughput_tps=output_tokens / wall_s if wall_s > 0 else None,
            requests_per_s=len(metrics) / wall_s if wall_s > 0 else None,
            input_tokens=sum(m.input_tokens for m in ok),
            output_tokens=output_tokens,
            cost_usd=total_cost(m.cost_usd for m in ok),
            bytes=sum(m.bytes for m in metrics),
            usage_estimated=any(m.usage_estimated for m in ok),
            replayed=bool(metrics) and all(m.replayed for m in metrics),
            dispatch_lag_ms=Distribution.of(dispatch_lags_ms),
            requests=list(metrics),
        )


def total_cost(costs: Iterable[float | None]) -> float | None:
    """The sum of costs, or None when any is unknown (a partial sum would understate it)."""
    total = 0.0
    for cost in costs:
        if cost is None:
            return None
        total += cost
    return total
