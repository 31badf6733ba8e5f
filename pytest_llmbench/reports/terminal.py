"""The terminal report: rich tables of each run group and of the conformance checks.

Compact (the pytest summary): one row per provider:model with p50/p95 figures. Detailed
(`llmbench run`): per run group, an overview of counts, tokens, bytes, cost and throughput,
then one table per measured quantity (TTFT, ITL, e2e, tokens/s) with its min, mean, p50, p95,
p99 and max for each provider:model, the models one under another so each figure compares
down its column. The tables share their column widths so they line up at 100 columns.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich import box
from rich.columns import Columns
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from pytest_llmbench.reports import _format
from pytest_llmbench.reports._runs import group_runs
from pytest_llmbench.reports.comparison import Comparison
from pytest_llmbench.reports.conformance import (
    conformance_matrix,
    conformance_outcomes,
    other_outcomes,
)
from pytest_llmbench.results import Outcome, Results, TestOutcome
from pytest_llmbench.stats import Distribution, RunStats

SYMBOLS: dict[Outcome, tuple[str, str]] = {
    "passed": ("✓", "bold green"),
    "failed": ("✗", "bold red"),
    "error": ("error", "bold red"),
    "skipped": ("skip", "yellow"),
}


# The distributions of the detailed report: (RunStats field, table heading).
DETAIL_QUANTITIES: tuple[tuple[str, str], ...] = (
    ("ttft_ms", "TTFT ms"),
    ("itl_ms", "ITL ms"),
    ("e2e_ms", "e2e ms"),
    ("output_tps", "tok/s per req"),
)
DETAIL_STATISTICS = ("min", "mean", "p50", "p95", "p99", "max")
_STAT_WIDTH = 7  # each statistic column; with its padding, 9
_ID_WIDTH = (14, 32)  # bounds of the provider:model column of the detailed tables


def render_terminal(results: Results, console: Console, *, detailed: bool = False) -> None:
    """Print the tables of each run group (RunStats.name) and the conformance matrix, if any.

    `detailed` prints each group as an overview and a table per quantity (see the module
    docstring) instead of one compact table.
    """
    sections: list[RenderableType] = []
    for name, runs in group_runs(results.runs).items():
        if detailed:
            sections += _detailed_tables(name, runs, console.width)
        else:
            sections.append(_run_table(name, runs))
    estimated = list(dict.fromkeys(r.id for r in results.runs if r.usage_estimated))
    if estimated:
        sections.append(
            Text(
                "Note: output tokens estimated from stream events (no usage sent) for "
                + ", ".join(estimated),
                style="yellow",
            )
        )
    if conformance_outcomes(results.outcomes):
        matrix = _conformance_table(results.outcomes)
        failures = _conformance_failures(results.outcomes)
        sections.append(Group(matrix, conformance_legend(), *failures))
    if other_outcomes(results.outcomes):
        sections.append(_outcomes_table(other_outcomes(results.outcomes)))
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
    detailed: bool = False,
) -> str:
    """The terminal report (and the baseline comparison, if given) as text to write out.

    For front ends that print text rather than hold a rich Console (the pytest summary): the
    Console is made here, beside the tables, so both come from the same rich modules.
    `color` adds ANSI colours; `detailed` is as for `render_terminal`.
    """
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        color_system="standard" if color else None,
        highlight=False,
    )
    render_terminal(results, console, detailed=detailed)
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
    _caption_errors(table, runs)
    return table


def _detailed_tables(name: str, runs: Sequence[RunStats], width: int) -> list[Table | Text]:
    """A run group in full: the overview, then one table per quantity.

    Every table gets the same provider:model column, as wide as the longest id within
    _ID_WIDTH and what leaves the statistics room on the console (longer ids fold). Only
    the overview may narrow it further, when its own figures would not fit otherwise.
    """
    longest = max((len(run.id) for run in runs), default=0)
    room = width - len(DETAIL_STATISTICS) * (_STAT_WIDTH + 2)
    id_width = max(_ID_WIDTH[0], min(longest, _ID_WIDTH[1], room))
    tables: list[Table | Text] = [_overview_table(name, runs, id_width)]
    for field, heading in DETAIL_QUANTITIES:
        tables.append(_distribution_table(heading, runs, field, id_width))
    return tables


def _detail_table(first_header: str, id_width: int, *, narrower: bool = False) -> Table:
    table = Table(box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False, show_edge=False)
    table.add_column(
        first_header,
        overflow="fold",
        # Without a minimum rich can narrow the column; at least the header's width anyway.
        min_width=None if narrower else id_width,
        max_width=id_width,
    )
    return table


def _overview_table(name: str, runs: Sequence[RunStats], id_width: int) -> Table:
    table = _detail_table("provider:model", id_width, narrower=True)
    table.title = Text(name or "(unnamed run)", style="bold")
    table.title_justify = "left"
    for header in ("n", "ok", "err"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("tokens\nin/out", justify="right", no_wrap=True)
    table.add_column("bytes", justify="right", no_wrap=True)
    table.add_column("cost $", justify="right", no_wrap=True)
    table.add_column("thru\ntok/s", justify="right", no_wrap=True)
    table.add_column("req/s", justify="right", no_wrap=True)
    replayed = any(run.replayed for run in runs)
    if replayed:
        table.add_column("replay", justify="center")
    for run in runs:
        errors = run.error_count
        cells: list[Text | str] = [
            Text(run.id),
            str(run.count),
            str(run.ok),
            Text(str(errors), style="bold red" if errors else ""),
            f"{token_count(run.input_tokens)}/{token_count(run.output_tokens)}",
            byte_size(run.bytes),
            _format.usd(run.cost_usd),
            _format.quantity(run.throughput_tps),
            _format.quantity(run.requests_per_s),
        ]
        if replayed:
            cells.append("✓" if run.replayed else "")
        table.add_row(*cells)
    _caption_errors(table, runs)
    return table


def _distribution_table(heading: str, runs: Sequence[RunStats], field: str, id_width: int) -> Table:
    table = _detail_table(heading, id_width)
    for statistic in DETAIL_STATISTICS:
        table.add_column(statistic, justify="right", no_wrap=True, min_width=_STAT_WIDTH)
    for run in runs:
        distribution = getattr(run, field)
        assert isinstance(distribution, Distribution)
        table.add_row(
            Text(run.id), *(_format.quantity(distribution.get(s)) for s in DETAIL_STATISTICS)
        )
    return table


def token_count(count: int) -> str:
    """A token count: exact below 100,000 (12,345), then in k or M (123k, 4.57M)."""
    if count < 100_000:
        return f"{count:,}"
    if count < 999_500:
        return f"{_format.quantity(count / 1000)}k"
    return f"{_format.quantity(count / 1_000_000)}M"


def byte_size(count: int) -> str:
    """A byte count in decimal units: 512 B, 1.62 kB, 34.5 MB."""
    if count < 1000:
        return f"{count} B"
    for below, scale, unit in ((999_500, 1e3, "kB"), (999_500_000, 1e6, "MB")):
        if count < below:  # below: what would round to 1000 of this unit
            return f"{_format.quantity(count / scale)} {unit}"
    return f"{_format.quantity(count / 1e9)} GB"


def _caption_errors(table: Table, runs: Sequence[RunStats]) -> None:
    failing = [
        f"{run.id}: " + ", ".join(f"{kind} x{count}" for kind, count in run.errors.items())
        for run in runs
        if run.errors
    ]
    if failing:
        table.caption = Text("errors: " + "; ".join(failing), style="red")
        table.caption_justify = "left"


def _pair(first: float | None, second: float | None) -> str:
    return f"{_format.quantity(first)}/{_format.quantity(second)}"


LEGEND: tuple[tuple[Outcome, str], ...] = (
    ("passed", "passed"),
    ("failed", "failed"),
    ("error", "setup failed"),
    ("skipped", "skipped"),
)


def conformance_legend() -> Columns:
    """What the matrix's symbols mean, laid out by rich at the console's width: an entry is
    never split (a table caption would wrap at the table's width, inside an entry)."""
    symbols = [(*SYMBOLS[outcome], meaning) for outcome, meaning in LEGEND]
    symbols.append((_format.MISSING, "dim", "not run"))
    items = [
        # A word (or the dash) needs a colon to read apart from its meaning; a glyph does not.
        Text.assemble(
            (symbol, style),
            (": " if symbol.isalpha() or symbol == _format.MISSING else " ") + meaning,
            no_wrap=True,
        )
        for symbol, style, meaning in symbols
    ]
    return Columns(items, padding=(0, 2))


def _conformance_failures(outcomes: Sequence[TestOutcome]) -> list[Text]:
    """One line per failed check and target, with why it failed."""
    return [
        Text(f"✗ {test} [{target}]: {failed.message or failed.outcome}", style="red")
        for test, target, failed in conformance_matrix(outcomes).failures()
    ]


def _conformance_table(outcomes: Sequence[TestOutcome]) -> Table:
    matrix = conformance_matrix(outcomes)
    table = Table(
        title=Text("Conformance", style="bold"),
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    longest = max((len(test) for test in matrix.tests), default=0)
    table.add_column("check", overflow="fold", min_width=min(longest, 40))
    for target in matrix.targets:
        table.add_column(Text(target), justify="center", overflow="fold")
    theme = None
    for test in matrix.tests:
        if matrix.themes.get(test) != theme:
            theme = matrix.themes.get(test)
            table.add_row(Text(theme or "", style="bold dim"))
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


def _outcomes_table(outcomes: Sequence[TestOutcome]) -> Table:
    """Ordinary provider tests (not conformance checks): one row per test and target."""
    table = Table(title=Text("Tests", style="bold"), title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("test", overflow="fold")
    table.add_column("target", overflow="fold")
    table.add_column("outcome", justify="center")
    table.add_column("reason", overflow="fold")
    for outcome in outcomes:
        symbol, style = SYMBOLS[outcome.outcome]
        reason = outcome.message if outcome.outcome != "passed" else ""
        table.add_row(outcome.name, outcome.target, Text(symbol, style=style), reason)
    return table
