"""The one metering path: stamping output events and building RequestMetrics from the stamps.

LLMClient, the SDK observer (transport/observe.py) and the load runner's failure rows all go
through here, so a request gets the same TTFT, ITL, usage and cost whichever client made it.
"""

from __future__ import annotations

import time

from pytest_llmbench import secrets
from pytest_llmbench.config import ModelConfig, ProviderConfig
from pytest_llmbench.errors import ProviderError
from pytest_llmbench.metrics import NS_PER_MS, RequestMetrics, Stopwatch, cost_usd
from pytest_llmbench.providers import StreamAssembler
from pytest_llmbench.types import StreamEvent, Usage


def stamp(
    events: list[StreamEvent], arrival_ns: int, watch: Stopwatch, assembler: StreamAssembler
) -> None:
    """Stamp the events one chunk completed with its arrival, note the output ones, assemble.

    An error event raises its error (from the assembler) once the events before it are done.
    """
    output = watch.output_ns
    add = assembler.add
    for event in events:
        event.arrival_ns = arrival_ns
        if event.is_output:
            output.append(arrival_ns)
        add(event)


def request_metrics(
    watch: Stopwatch,
    provider: ProviderConfig,
    model: ModelConfig,
    *,
    usage: Usage | None,
    streamed: bool,
    status: int | None,
    replayed: bool,
    retries: int = 0,
    error: str | None = None,
) -> RequestMetrics:
    """A request's metrics from its stamps; output tokens counted from events without usage."""
    metrics = watch.result(
        output_tokens=usage.output_tokens if usage is not None else None, streamed=streamed
    )
    metrics.provider = provider.name
    metrics.model = model.id
    metrics.status = status
    metrics.replayed = replayed
    metrics.retries = retries
    metrics.error = error
    metrics.input_tokens = usage.input_tokens if usage is not None else 0
    metrics.cost_usd = cost_usd(
        metrics.input_tokens, metrics.output_tokens, model.input_per_mtok, model.output_per_mtok
    )
    return metrics


def failed_metrics(
    provider: ProviderConfig, model: ModelConfig, error: Exception, started_ns: int
) -> RequestMetrics:
    """The row of a request that failed: its error class, status, retries and time to failure."""
    elapsed_ns = time.perf_counter_ns() - started_ns
    status = error.status if isinstance(error, ProviderError) else None
    retries = error.retries if isinstance(error, ProviderError) else 0
    return RequestMetrics(
        provider=provider.name,
        model=model.id,
        started_at=time.time() - elapsed_ns / 1e9,
        status=status if status is not None else type(error).__name__,
        e2e_ms=elapsed_ns / NS_PER_MS,
        error=type(error).__name__,
        error_message=secrets.redact(str(error)),
        retries=retries,
    )
