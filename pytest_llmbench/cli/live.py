"""The live view of a load run: a progress bar per target with TTFT p50, tokens/s and errors."""

from __future__ import annotations

import bisect
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pytest_llmbench.cli.exits import print_error
from pytest_llmbench.load import LoadShape
from pytest_llmbench.metrics import RequestMetrics
from pytest_llmbench.selection import Target
from pytest_llmbench.stats import RunStats, percentile

log = logging.getLogger("pytest_llmbench.cli")


@contextlib.contextmanager
def progress_bars(console: Console) -> Iterator[Progress]:
    """The progress bars of a run on a terminal; none (disabled) on a pipe."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[live]}"),
        console=console,
        disable=not console.is_terminal,
        transient=False,
    )
    with progress:
        yield progress


class LiveProgress:
    """One target's progress bar with live TTFT p50, tokens/s and errors; the log lines."""

    def __init__(
        self, progress: Progress, target: Target, shape: LoadShape, log_stream: IO[str] | None
    ) -> None:
        self.progress = progress
        self.target = target
        self.log_stream = log_stream
        self.row = _LiveRow()
        self.task_id = progress.add_task(target.id, total=shape.count, live="")

    def __call__(self, metrics: RequestMetrics) -> None:
        self.progress.update(self.task_id, advance=1, live=self.row.add(metrics))
        if self.log_stream is not None:
            self.log_stream.write(metrics.model_dump_json() + "\n")
            self.log_stream.flush()  # readable while the run goes on
        log.info(
            "%s prompt=%s status=%s ttft_ms=%s e2e_ms=%s error=%s",
            self.target.id,
            metrics.prompt_id,
            metrics.status,
            metrics.ttft_ms,
            metrics.e2e_ms,
            metrics.error,
        )

    def finish(self, stats: RunStats) -> None:
        """The target is done: on a pipe, its one summary line."""
        if self.progress.disable:  # no bar on a pipe: one line per target instead
            print_error(
                f"{self.target.id}: {stats.count} requests, {stats.ok} ok, "
                f"{stats.error_count} errors"
            )


@dataclass
class _LiveRow:
    """The live figures of one provider:model on the progress bar."""

    started: float = field(default_factory=time.time)
    ttft: list[float] = field(default_factory=list)
    output_tokens: int = 0
    errors: int = 0

    def add(self, metrics: RequestMetrics) -> str:
        if metrics.error is not None:
            self.errors += 1
        else:
            if metrics.ttft_ms is not None:
                bisect.insort(self.ttft, metrics.ttft_ms)  # kept sorted for the live p50
            self.output_tokens += metrics.output_tokens
        return self.text()

    def text(self) -> str:
        ttft = f"{percentile(self.ttft, 50):,.0f} ms" if self.ttft else "-"
        elapsed = time.time() - self.started
        tps = f"{self.output_tokens / elapsed:,.1f}" if elapsed > 0 else "-"
        return f"TTFT p50 {ttft} · {tps} tok/s · {self.errors} errors"
