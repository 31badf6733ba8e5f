"""The CSV report: one row per request of every run, for spreadsheets and dataframes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from pytest_llmbench.files import write_text_atomically
from pytest_llmbench.metrics import RequestMetrics
from pytest_llmbench.reports._format import utc_timestamp
from pytest_llmbench.results import Results
from pytest_llmbench.stats import RunStats

COLUMNS = (
    "timestamp",
    "run",
    "provider",
    "model",
    "prompt_id",
    "status",
    "ttfb_ms",
    "ttft_ms",
    "e2e_ms",
    "itl_ms",
    "input_tokens",
    "output_tokens",
    "output_tps",
    "cost_usd",
    "bytes",
    "retries",
    "usage_estimated",
    "replayed",
    "error",
    "connect_ms",
    "worker",
)

Cell = str | int | float | bool | None


def write_csv(path: Path | str, results: Results) -> None:
    """Write one row per request (columns: COLUMNS), replacing `path` atomically.

    None is an empty cell; booleans are `true`/`false`; `timestamp` is ISO 8601 in UTC.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for row in rows(results):
        writer.writerow(_cell(value) for value in row)
    write_text_atomically(path, buffer.getvalue())


def rows(results: Results) -> Iterator[tuple[Cell, ...]]:
    """The CSV rows as Python values, in COLUMNS order."""
    for run in results.runs:
        for request in run.requests:
            yield _row(run, request)


def _row(run: RunStats, request: RequestMetrics) -> tuple[Cell, ...]:
    return (
        utc_timestamp(request.started_at) or None,
        run.name,
        request.provider or run.provider,
        request.model or run.model,
        request.prompt_id,
        request.status,
        request.ttfb_ms,
        request.ttft_ms,
        request.e2e_ms,
        request.itl_ms,
        request.input_tokens,
        request.output_tokens,
        request.output_tps,
        request.cost_usd,
        request.bytes,
        request.retries,
        request.usage_estimated,
        request.replayed,
        request.error,
        request.connect_ms,
        request.worker,
    )


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
