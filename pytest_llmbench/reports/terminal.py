"""The terminal report: rich tables of each run group and of the conformance checks."""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pytest_llmbench.reports import _format
from pytest_llmbench.reports._runs import group_runs
from pytest_llmbench.reports.comparison import Comparison
from pytest_llmbench.reports.conformance import conformance_matrix
from pytest_llmbench.results import Outcome, Results, TestOutcome
from pytest_llmbench.stats import RunStats

SYMBOLS: dict[Outcome, tuple[str, str]] = {
    "passed": ("✓", "bold green"),
    "failed": ("✗", "bold red"),
    "error": ("error", "bold red"),
    "skipped": ("skip", "yellow"),
}


def render_terminal(results: Results, console: Console) -> None:
    """Print a table per run group (RunStats.name) and the conformance matrix, if any."""
    sections: list[Table | Text] = [
        _run_table(name, runs) for name, runs in group_runs(results.runs).items()
    ]
    estimated = list(dict.fromkeys(r.id for r in results.runs if r.usage_estimated))
    if estimated:
        sections.append(
            Text(
                "Note: output tokens estimated from stream events (no usage sent) for "
                + ", ".join(estimated),
                style="yellow",
            )
        )
    if results.outcomes:
        sections.append(_conformance_table(results.outcomes))
    for index, section in enumerate(sections):
        if index:
            console.print()
        console.print(section)


def terminal_text(
    results: Results,
    *,
    width: int = 100,
    comparison: Comparison | None = None,
    color: bool = False,
) -> str:
    """The terminal report (and the baseline comparison, if given) as text to write out.

    For front ends that print text rather than hold a rich Console (the pytest summary): the
    Console is made here, beside the tables, so both come from the same rich modules.
    `color` adds ANSI colours.
    """
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        color_system="standard" if color else None,
        highlight=False,
    )
    render_terminal(results, console)
    if comparison is not None:
        console.print()
        comparison.render(console)
    return buffer.getvalue()


def _run_table(name: str, runs: Sequence[RunStats]) -> Table:
    table = Table(
        title=Text(name or "(unnamed run)", style="bold"),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
    )
    longest = max((len(run.id) for run in runs), default=0)
    table.add_column("provider:model", overflow="fold", min_width=min(longest, 24))
    for header in ("n", "ok", "err"):
        table.add_column(header, justify="right")
    table.add_column("TTFT ms\np50/p95", justify="right", no_wrap=True)
    table.add_column("ITL ms\np50", justify="right", no_wrap=True)
    table.add_column("e2e ms\np50/p95", justify="right", no_wrap=True)
    table.add_column("tok/s\np50", justify="right", no_wrap=True)
    table.add_column("thru\ntok/s", justify="right", no_wrap=True)
    table.add_column("cost $", justify="right", no_wrap=True)
    table.add_column("replay", justify="center")
    for run in runs:
        errors = run.error_count
        table.add_row(
            Text(run.id),
            str(run.count),
            str(run.ok),
            Text(str(errors), style="bold red" if errors else ""),
            _pair(run.ttft_ms.p50, run.ttft_ms.p95),
            _format.quantity(run.itl_ms.p50),
            _pair(run.e2e_ms.p50, run.e2e_ms.p95),
            _format.quantity(run.output_tps.p50),
            _format.quantity(run.throughput_tps),
            _format.usd(run.cost_usd),
            "✓" if run.replayed else "",
        )
    failing = [
        f"{run.id}: " + ", ".join(f"{kind} x{count}" for kind, count in run.errors.items())
        for run in runs
        if run.errors
    ]
    if failing:
        table.caption = Text("errors: " + "; ".join(failing), style="red")
        table.caption_justify = "left"
    return table


def _pair(first: float | None, second: float | None) -> str:
    return f"{_format.quantity(first)}/{_format.quantity(second)}"


def _conformance_table(outcomes: Sequence[TestOutcome]) -> Table:
    matrix = conformance_matrix(outcomes)
    table = Table(
        title=Text("Conformance", style="bold"),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        caption="✓ passed  ✗ failed  skip: skipped  –: not run",
        caption_justify="left",
    )
    longest = max((len(test) for test in matrix.tests), default=0)
    table.add_column("check", overflow="fold", min_width=min(longest, 40))
    for target in matrix.targets:
        table.add_column(Text(target), justify="center", overflow="fold")
    for test in matrix.tests:
        cells: list[Text] = []
        for target in matrix.targets:
            cell = matrix.cell(test, target)
            if cell is None:
                cells.append(Text(_format.MISSING, style="dim"))
            else:
                symbol, style = SYMBOLS[cell.outcome]
                cells.append(Text(symbol, style=style))
        table.add_row(Text(test), *cells)
    return table
