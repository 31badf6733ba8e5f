"""Results with hand-made timings, so every figure a report shows can be worked out by hand.

openai:gpt-a (run "test_chat"): four successful requests
    ttft 10, 20, 30, 40 ms        -> p50 25.0, p95 38.5
    e2e 100, 200, 300, 400 ms     -> p50 250, p95 385
    itl 2, 3, 4, 5 ms             -> p50 3.5
    output_tps 50, 60, 70, 80     -> p50 65.0
    5 output tokens each, wall 2 s -> throughput 10.0 tok/s; cost 0.001 each -> 0.004
anthropic:claude-b (run "test_chat"): three successful requests and one RateLimitError
    ttft 100, 200, 300 ms         -> p50 200, p95 290; error rate 1/4
"""

from __future__ import annotations

from collections.abc import Sequence

from pytest_llmbench.metrics import RequestMetrics
from pytest_llmbench.results import Outcome, Results, RunMeta, TestOutcome
from pytest_llmbench.stats import RunStats

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20+00:00


def ok(
    provider: str,
    model: str,
    index: int,
    *,
    ttft: float,
    e2e: float,
    itl: float | None = None,
    tps: float | None = None,
    gaps: Sequence[float] = (),
    estimated: bool = False,
    replayed: bool = False,
) -> RequestMetrics:
    return RequestMetrics(
        provider=provider, model=model, prompt_id=f"prompt-{index}", started_at=T0 + index,
        status=200, streamed=True, replayed=replayed, ttfb_ms=ttft / 2, ttft_ms=ttft, e2e_ms=e2e,
        itl_ms=itl, output_tps=tps, chunk_gaps_ms=list(gaps), input_tokens=12, output_tokens=5,
        usage_estimated=estimated, output_events=5, cost_usd=0.001, bytes=512,
    )  # fmt: skip


def failed(provider: str, model: str, index: int, error: str = "RateLimitError") -> RequestMetrics:
    return RequestMetrics(
        provider=provider, model=model, prompt_id=f"prompt-{index}", started_at=T0 + index,
        status=429, e2e_ms=5.0, retries=2, bytes=80, error=error,
    )  # fmt: skip


def openai_run(
    name: str = "test_chat",
    *,
    scale: float = 1.0,
    tps_scale: float = 1.0,
    replayed: bool = False,
) -> RunStats:
    """The openai:gpt-a run; `scale` multiplies latencies, `tps_scale` the token rates."""
    requests = [
        ok("openai", "gpt-a", i, ttft=ttft * scale, e2e=e2e * scale, itl=itl * scale,
           tps=tps * tps_scale, gaps=[1.0, 3.0], replayed=replayed)
        for i, (ttft, e2e, itl, tps) in enumerate(
            [(10, 100, 2, 50), (20, 200, 3, 60), (30, 300, 4, 70), (40, 400, 5, 80)]
        )
    ]  # fmt: skip
    return RunStats.from_metrics(requests, wall_s=2.0, name=name)


def anthropic_run(name: str = "test_chat", *, estimated: bool = False) -> RunStats:
    """The anthropic:claude-b run: three successes and one RateLimitError."""
    requests = [
        ok("anthropic", "claude-b", i, ttft=ttft, e2e=ttft * 10, estimated=estimated)
        for i, ttft in enumerate([100, 200, 300])
    ] + [failed("anthropic", "claude-b", 3)]
    return RunStats.from_metrics(requests, wall_s=2.0, name=name)


def outcome(
    name: str, target: str, result: Outcome, message: str = "", theme: str | None = "answers"
) -> TestOutcome:
    """A test outcome: a conformance check of `theme`, or an ordinary test if theme is None."""
    return TestOutcome(
        nodeid=f"tests/test_conformance.py::{name}[{target}]",
        name=name,
        target=target,
        outcome=result,
        message=message,
        conformance=theme,
    )


OUTCOMES = [
    outcome("test_streaming", "openai:gpt-a", "passed"),
    outcome("test_streaming", "anthropic:claude-b", "passed"),
    outcome("test_usage", "openai:gpt-a", "passed"),
    outcome("test_usage", "anthropic:claude-b", "failed", "usage missing"),
    outcome("test_tools", "openai:gpt-a", "skipped", "no tool support"),
]


def results(
    runs: Sequence[RunStats] | None = None, outcomes: Sequence[TestOutcome] | None = None
) -> Results:
    return Results(
        meta=RunMeta(started_at=T0, finished_at=T0 + 12.5, command=["pytest", "-m", "live"],
                     mode="replay", python="3.12.1", platform="Linux-test"),
        runs=list(runs if runs is not None else [openai_run(), anthropic_run()]),
        outcomes=list(outcomes if outcomes is not None else OUTCOMES),
    )  # fmt: skip
