"""Baseline comparison: the current runs against a saved results file, under regression rules."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pytest_llmbench.reports import _format
from pytest_llmbench.reports._runs import run_label
from pytest_llmbench.reports.rules import Rule
from pytest_llmbench.results import Results
from pytest_llmbench.stats import RunStats

RunKey = tuple[str, str, str]  # (name, provider, model)


@dataclass(frozen=True)
class ComparisonRow:
    """One rule checked on one run present in both the baseline and the current results."""

    name: str  # RunStats.name
    target: str  # provider:model
    metric: str  # rule label: ttft.p95, error_rate
    unit: str  # ms, tok/s, $, fraction
    baseline: float | None
    current: float | None
    change_pct: float | None  # (current - baseline) / baseline x 100; None without a baseline
    limit: str  # as the rule states it: +20%, >1%
    threshold: float | None  # the value past which the run breaches
    breached: bool
    note: str = ""  # why a figure is missing, when one is

    @property
    def run(self) -> str:
        return run_label(self.name, self.target)


@dataclass
class Comparison:
    """All checks of a baseline comparison, plus the runs found on one side only."""

    rows: list[ComparisonRow] = field(default_factory=list)
    new: list[str] = field(default_factory=list)  # runs only in the current results
    missing: list[str] = field(default_factory=list)  # runs only in the baseline
    rules: list[Rule] = field(default_factory=list)

    @property
    def breached(self) -> bool:
        """Whether any rule was breached; new and missing runs are not breaches."""
        return any(row.breached for row in self.rows)

    @property
    def regressions(self) -> list[ComparisonRow]:
        return [row for row in self.rows if row.breached]

    def render(self, console: Console) -> None:
        """Print what regressed as a table, then a summary and the unmatched runs."""
        if not self.rules:
            console.print("Baseline comparison: no regression rules given.")
        elif self.regressions:
            console.print(_regression_table(self.regressions))
            console.print(
                f"[bold red]{len(self.regressions)} of {len(self.rows)} checks breached "
                "the regression rules.[/]"
            )
        else:
            console.print(
                f"[green]No regressions against the baseline[/] ({len(self.rows)} checks: "
                + ", ".join(str(rule) for rule in self.rules)
                + ")."
            )
        if self.new:
            console.print(Text("New runs (not in the baseline): " + ", ".join(self.new)))
        if self.missing:
            console.print(Text("Missing runs (only in the baseline): " + ", ".join(self.missing)))


def compare(baseline: Results, current: Results, rules: Sequence[Rule]) -> Comparison:
    """Check every rule on every run matched by (name, provider, model) in both results."""
    before = _by_key(baseline.runs)
    after = _by_key(current.runs)
    comparison = Comparison(rules=list(rules))
    for key, runs in after.items():
        olds = before.get(key, [])
        for index, run in enumerate(runs):
            if index < len(olds):
                comparison.rows.extend(_check(rule, olds[index], run) for rule in rules)
            else:
                comparison.new.append(run_label(run.name, run.id))
    for key, olds in before.items():
        for old in olds[len(after.get(key, [])) :]:
            comparison.missing.append(run_label(old.name, old.id))
    return comparison


def _by_key(runs: Sequence[RunStats]) -> dict[RunKey, list[RunStats]]:
    grouped: dict[RunKey, list[RunStats]] = defaultdict(list)
    for run in runs:
        grouped[(run.name, run.provider, run.model)].append(run)
    return grouped


def _check(rule: Rule, baseline_run: RunStats, current_run: RunStats) -> ComparisonRow:
    baseline = rule.value(baseline_run)
    current = rule.value(current_run)
    note = ""
    if current is None:
        # A figure the baseline had and the current run lost (every request failed, say)
        # is a regression: it can no longer be checked.
        breached = baseline is not None
        note = "not measured in the current run" if breached else "not measured in either run"
    else:
        breached = rule.breached_by(current, baseline)
        if baseline is None and rule.kind == "relative":
            note = "not measured in the baseline"
    change = None
    if baseline and current is not None:
        change = (current - baseline) / abs(baseline) * 100
    return ComparisonRow(
        name=current_run.name,
        target=current_run.id,
        metric=rule.label,
        unit=rule.metric.unit,
        baseline=baseline,
        current=current,
        change_pct=change,
        limit=rule.limit_text,
        threshold=rule.threshold(baseline),
        breached=breached,
        note=note,
    )


def format_value(value: float | None, unit: str) -> str:
    """A figure in its metric's unit, as the comparison table shows it."""
    if unit == "fraction":
        return _format.percent(value)
    if unit == "$":
        return _format.usd(value)
    return _format.quantity(value)


def _regression_table(rows: Sequence[ComparisonRow]) -> Table:
    table = Table(
        title="Regressions against the baseline", box=box.SIMPLE_HEAD, title_justify="left"
    )
    table.add_column("run", overflow="fold")
    table.add_column("metric")
    table.add_column("baseline", justify="right")
    table.add_column("current", justify="right", style="bold red")
    table.add_column("change", justify="right")
    table.add_column("limit", justify="right")
    for row in rows:
        unit = "" if row.unit == "fraction" else f" {row.unit}"
        table.add_row(
            Text(row.run),
            Text(row.metric + unit),
            format_value(row.baseline, row.unit),
            format_value(row.current, row.unit),
            _format.signed_percent(row.change_pct),
            Text(row.limit + (f" ({row.note})" if row.note else "")),
        )
    return table
