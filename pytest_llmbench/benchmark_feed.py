"""Feeding llm_bench runs to pytest-benchmark: its table, --benchmark-json, autosave, compare.

pytest-benchmark has no public way to record timings taken elsewhere, so this uses what its
own pedantic mode uses (`_make_stats`, `Metadata.stats.update`). Under pytest-xdist it
disables itself; workers then send their runs (`BenchmarkRecord`) to the controller, which
adds them to its benchmark session so the summary and files match a run without xdist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pytest_llmbench.stats import RunStats


@dataclass
class BenchmarkRecord:
    """One llm_bench run as pytest-benchmark shows it: e2e seconds as the timed rounds."""

    name: str
    fullname: str
    param: str | None
    params: dict[str, str] | None
    group: str | None
    timings: list[float]
    extra_info: dict[str, Any] = field(default_factory=dict)
    cprofile_stats: None = None
    has_error: bool = False

    @classmethod
    def of(cls, node: Any, group: str | None, stats: RunStats) -> BenchmarkRecord:
        callspec = getattr(node, "callspec", None)
        return cls(
            name=node.name,
            fullname=node.nodeid,
            param=callspec.id if callspec is not None else None,
            params={k: str(v) for k, v in callspec.params.items()} if callspec else None,
            group=group,
            timings=[
                m.e2e_ms / 1000 for m in stats.requests if m.error is None and m.e2e_ms is not None
            ],
            extra_info={
                "provider": stats.provider,
                "model": stats.model,
                "ttft_ms_p50": stats.ttft_ms.p50,
                "ttft_ms_p95": stats.ttft_ms.p95,
                "itl_ms_p50": stats.itl_ms.p50,
                "output_tps_p50": stats.output_tps.p50,
                "cost_usd": stats.cost_usd,
                "errors": stats.error_count,
                "replayed": stats.replayed,
            },
        )


def feed_fixture(benchmark: Any, record: BenchmarkRecord) -> None:
    """Record a run on the test's own (enabled) `benchmark` fixture."""
    benchmark._mode = "llm_bench"
    timings = benchmark._make_stats(1)
    for seconds in record.timings:
        timings.update(seconds)
    benchmark.extra_info.update(record.extra_info)


def disabled_only_by_xdist(config: Any) -> bool:
    """pytest-benchmark switched itself off because of xdist, not because it was asked to."""
    session = getattr(config, "_benchmarksession", None)
    return bool(session is not None and session.xdist_warning)


def quiet_xdist_warning(config: Any) -> None:
    """On a worker whose runs go to the controller: pytest-benchmark's "disabled because of
    xdist" warning would be wrong, as the controller shows them."""
    session = getattr(config, "_benchmarksession", None)
    if session is not None:
        session.xdist_benchmark_found = False


def add_to_session(config: Any, record: BenchmarkRecord) -> None:
    """On the xdist controller: add a worker's run to pytest-benchmark's session."""
    from pytest_benchmark import stats as benchmark_stats

    metadata_class: Any = benchmark_stats.Metadata  # untyped library class
    session = config._benchmarksession
    session.disabled = False
    session.xdist_benchmark_found = False  # its "disabled because of xdist" warning no longer holds
    options = {
        "disable_gc": False,
        "timer": "perf_counter",
        "min_rounds": len(record.timings),
        "max_time": 0,
        "min_time": 0,
        "precision": None,
        "confidence": None,
        "warmup": False,
    }
    metadata = metadata_class(record, iterations=1, options=options)
    for seconds in record.timings:
        metadata.stats.update(seconds)
    session.benchmarks.append(metadata)
