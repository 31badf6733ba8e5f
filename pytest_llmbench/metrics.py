"""RequestMetrics: the timings and counts of one request, as defined in docs/architecture.md.

All clocks are `time.perf_counter_ns()`. `Stopwatch` collects the stamps during a request and
turns them into a RequestMetrics; nothing else computes these figures.
"""

from __future__ import annotations

import time
from itertools import pairwise

from pydantic import BaseModel, Field

NS_PER_MS = 1_000_000


class RequestMetrics(BaseModel):
    """Timings and counts of one request. Times are milliseconds from t0 (request handed over)."""

    provider: str = ""
    model: str = ""
    prompt_id: str = ""
    started_at: float = 0.0  # wall clock (time.time()) at t0, for per-request rows
    status: int | str | None = None
    streamed: bool = False
    replayed: bool = False
    connect_ms: float | None = None  # opening a new connection; None when one was reused
    ttfb_ms: float | None = None
    ttft_ms: float | None = None
    e2e_ms: float | None = None
    itl_ms: float | None = None
    output_tps: float | None = None
    chunk_gaps_ms: list[float] = Field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    usage_estimated: bool = False
    output_events: int = 0
    cost_usd: float | None = None
    retries: int = 0
    bytes: int = 0
    error: str | None = None  # the error class name when the request failed
    error_message: str | None = None
    worker: int | None = None  # the worker of a distributed run that sent it; None: one process


def cost_usd(
    input_tokens: int,
    output_tokens: int,
    input_per_mtok: float | None,
    output_per_mtok: float | None,
) -> float | None:
    """Cost from per-million-token prices; None (unknown, not free) without prices."""
    if input_per_mtok is None or output_per_mtok is None:
        return None
    return (input_tokens * input_per_mtok + output_tokens * output_per_mtok) / 1_000_000


class Stopwatch:
    """Collects the clock stamps of one request attempt.

    `t0` is taken at construction (moved by `start_at` past connection setup); the transport
    calls `first_byte`/`chunk`/`end`, the client calls `output` with each output event's arrival.
    """

    __slots__ = ("bytes", "connect_ms", "output_ns", "t0", "t_end", "t_first_byte", "wall0")

    def __init__(self) -> None:
        self.wall0 = time.time()
        self.t0 = time.perf_counter_ns()
        self.t_first_byte: int | None = None
        self.t_end: int | None = None
        self.output_ns: list[int] = []
        self.bytes = 0
        self.connect_ms: float | None = None

    def start_at(self, ready_ns: int) -> None:
        """Move t0 to when the connection was ready: setup is not the server's latency."""
        if ready_ns > self.t0:
            self.wall0 += (ready_ns - self.t0) / 1e9
            self.t0 = ready_ns

    def output(self, arrival_ns: int) -> None:
        self.output_ns.append(arrival_ns)

    def _ms(self, t: int | None) -> float | None:
        return None if t is None else (t - self.t0) / NS_PER_MS

    def result(self, *, output_tokens: int | None, streamed: bool) -> RequestMetrics:
        """The metrics of this attempt. `output_tokens` None means: estimate from events."""
        out = self.output_ns
        estimated = output_tokens is None
        tokens = len(out) if output_tokens is None else output_tokens
        gaps = [(b - a) / NS_PER_MS for a, b in pairwise(out)]
        itl = tps = None
        if streamed and len(out) >= 2 and tokens >= 2:
            span_ms = (out[-1] - out[0]) / NS_PER_MS
            itl = span_ms / (tokens - 1)
            tps = (tokens - 1) / (span_ms / 1000) if span_ms > 0 else None
        return RequestMetrics(
            started_at=self.wall0,
            streamed=streamed,
            connect_ms=self.connect_ms,
            ttfb_ms=self._ms(self.t_first_byte),
            ttft_ms=self._ms(out[0]) if out and streamed else None,  # no tokens stream: no TTFT
            e2e_ms=self._ms(self.t_end),
            itl_ms=itl,
            output_tps=tps,
            chunk_gaps_ms=gaps,
            output_tokens=tokens,
            usage_estimated=estimated,
            output_events=len(out),
            bytes=self.bytes,
        )
