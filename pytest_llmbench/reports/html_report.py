"""The HTML report: one self-contained page (inline CSS and SVG, no scripts, nothing fetched)."""

from __future__ import annotations

import math
import shlex
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from html import escape
from importlib import metadata
from pathlib import Path

from pytest_llmbench.files import write_text_atomically
from pytest_llmbench.metrics import RequestMetrics
from pytest_llmbench.reports import _format, svg
from pytest_llmbench.reports._runs import group_by_target, group_runs, run_label
from pytest_llmbench.reports.conformance import (
    conformance_matrix,
    conformance_outcomes,
    other_outcomes,
)
from pytest_llmbench.reports.drift_report import drift_section
from pytest_llmbench.results import Outcome, Results, RunMeta, TestOutcome
from pytest_llmbench.stats import Distribution, RunStats, total_cost

CELLS: dict[Outcome, tuple[str, str]] = {
    "passed": ("✓", "passed"),
    "failed": ("✗", "failed"),
    "error": ("error", "error"),
    "skipped": ("skip", "skipped"),
}

RUN_COLUMNS = (
    ("provider:model", ""),
    ("n", "num"),
    ("ok", "num"),
    ("errors", "num"),
    ("TTFT p50 ms", "num"),
    ("TTFT p95 ms", "num"),
    ("ITL p50 ms", "num"),
    ("e2e p50 ms", "num"),
    ("e2e p95 ms", "num"),
    ("tok/s p50", "num"),
    ("throughput tok/s", "num"),
    ("tokens in / out", "num"),
    ("cost $", "num"),
)

FigureOf = Callable[[RequestMetrics], float | None]

# The page may load nothing: no scripts, fonts, images or stylesheets from anywhere.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

STYLE = """
:root { --fg: #1f2933; --muted: #5f6b7a; --line: #dfe3ea; --bg: #f5f7fa; --card: #ffffff;
  --ok: #2f855a; --ok-bg: #e3f4ea; --bad: #c53030; --bad-bg: #fde8e8;
  --warn: #975a16; --warn-bg: #fdf3d8; --skip: #5f6b7a; --skip-bg: #edf0f4; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 12px; }
.meta { color: var(--muted); margin: 0 0 4px; }
.meta code { background: #e9edf3; padding: 1px 5px; border-radius: 4px; word-break: break-all; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 20px 0 8px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 12px 16px; }
.stat { min-width: 130px; }
.stat .value { font-size: 22px; font-weight: 600; }
.stat .label { color: var(--muted); font-size: 12px; text-transform: uppercase;
  letter-spacing: .04em; }
.stat.bad .value { color: var(--bad); }
.note { background: var(--warn-bg); color: var(--warn); border: 1px solid #f0d9a0;
  border-radius: 8px; padding: 8px 12px; margin: 12px 0; }
.table-wrap { overflow-x: auto; background: var(--card); border: 1px solid var(--line);
  border-radius: 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.group th { background: #eef2f7; color: var(--fg); font-size: 13px; text-align: left;
  word-break: break-all; white-space: normal; }
tr:last-child td { border-bottom: 0; }
td.target { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 13px; min-width: 13em; overflow-wrap: anywhere; }
table.runs td { font-size: 13px; }
td.errors { color: var(--bad); font-weight: 600; background: var(--bad-bg); }
.tag { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 9px;
  background: var(--skip-bg); color: var(--muted); margin-left: 4px; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr));
  gap: 16px; }
figure { margin: 0; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 12px; margin-top: 6px; }
table.matrix { width: auto; min-width: 50%; }
table.matrix td.cell { text-align: center; font-weight: 700; }
table.matrix th.target { text-align: center; font-family: ui-monospace, SFMono-Regular, Menlo,
  Consolas, monospace; min-width: 8em; max-width: 18em; overflow-wrap: anywhere; }
table.matrix td.check { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 13px; overflow-wrap: anywhere; max-width: 40em; }
td.passed { color: var(--ok); background: var(--ok-bg); }
td.failed { color: var(--bad); background: var(--bad-bg); }
td.error { color: #fff; background: var(--bad); }
td.skipped { color: var(--skip); background: var(--skip-bg); font-weight: 500; }
td.absent { color: var(--muted); }
.legend { color: var(--muted); font-size: 12px; margin-top: 8px; }
footer { color: var(--muted); font-size: 12px; margin-top: 40px; }
"""


def write_html(path: Path | str, results: Results) -> None:
    """Write the report as one self-contained HTML file, replacing `path` atomically."""
    write_text_atomically(path, render_html(results))


def render_html(results: Results) -> str:
    """The whole page as text."""
    sections = [
        _header(results),
        _summary(results),
        _notes(results.runs),
        _run_section(results.runs),
        _plot_section(results.runs),
        _conformance_section(results.outcomes),
        _outcomes_section(other_outcomes(results.outcomes)),
        drift_section(results.drift),
        f"<footer>pytest-llmbench {escape(_version())} · results schema version "
        f"{results.schema_version}</footer>",
    ]
    body = "\n".join(s for s in sections if s)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(_title(results.meta))}</title>\n"
        f"<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _version() -> str:
    try:
        return metadata.version("pytest-llmbench")
    except metadata.PackageNotFoundError:
        return "(version unknown)"


def _title(meta: RunMeta) -> str:
    when = _format.utc_timestamp(meta.started_at)[:16].replace("T", " ")
    return f"llmbench report {when} UTC" if when else "llmbench report"


def _header(results: Results) -> str:
    meta = results.meta
    started = _format.utc_timestamp(meta.started_at)[:19].replace("T", " ")
    facts = []
    if started:
        facts.append(f"started {started} UTC")
    if meta.finished_at and meta.started_at:
        facts.append(f"took {meta.finished_at - meta.started_at:.1f} s")
    if meta.mode:
        facts.append(f"mode {meta.mode}")
    facts.append(f"Python {meta.python}")
    if meta.platform:
        facts.append(meta.platform)
    lines = [
        "<header>",
        "<h1>pytest-llmbench report</h1>",
        f'<p class="meta">{escape(" · ".join(facts))}</p>',
    ]
    if meta.command:
        lines.append(f'<p class="meta">command <code>{escape(shlex.join(meta.command))}</code></p>')
    if meta.config:
        lines.append(f'<p class="meta">config <code>{escape(meta.config)}</code></p>')
    lines.append("</header>")
    return "\n".join(lines)


def _summary(results: Results) -> str:
    runs = results.runs
    requests = sum(r.count for r in runs)
    errors = sum(r.error_count for r in runs)
    stats = [
        ("runs", str(len(runs)), False),
        ("requests", str(requests), False),
        ("errors", str(errors), errors > 0),
        ("output tokens", f"{sum(r.output_tokens for r in runs):,}", False),
        ("cost $", _format.usd(total_cost(r.cost_usd for r in runs)), False),
    ]
    checks = conformance_outcomes(results.outcomes)
    if checks:
        counts = Counter(o.outcome for o in checks)
        bad = counts["failed"] + counts["error"]
        stats.append(("checks passed", f"{counts['passed']} / {len(checks)}", bad > 0))
    cards = "".join(
        f'<div class="card stat{" bad" if bad else ""}"><div class="value">{escape(value)}</div>'
        f'<div class="label">{escape(label)}</div></div>'
        for label, value, bad in stats
    )
    return f'<section class="cards">{cards}</section>'


def _notes(runs: Sequence[RunStats]) -> str:
    estimated = [run_label(r.name, r.id) for r in runs if r.usage_estimated]
    if not estimated:
        return ""
    return (
        '<p class="note">Output tokens were estimated from stream events (the server sent no '
        f"usage) for: {escape(', '.join(estimated))}. Token rates and costs of these runs are "
        "approximate.</p>"
    )


def _run_section(runs: Sequence[RunStats]) -> str:
    if not runs:
        return ""
    head = "".join(f'<th class="{cls}">{escape(name)}</th>' for name, cls in RUN_COLUMNS)
    rows = []
    for name, group in group_runs(runs).items():
        rows.append(
            f'<tr class="group"><th colspan="{len(RUN_COLUMNS)}">'
            f"{escape(name or '(unnamed run)')}</th></tr>"
        )
        rows.extend(_run_row(run) for run in group)
    return (
        "<section><h2>Runs</h2>"
        f'<div class="table-wrap"><table class="runs"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _run_row(run: RunStats) -> str:
    tags = []
    if run.replayed:
        tags.append("replayed")
    if run.usage_estimated:
        tags.append("estimated usage")
    target = escape(run.id) + "".join(f'<span class="tag">{t}</span>' for t in tags)
    error_title = ", ".join(f"{kind}: {count}" for kind, count in run.errors.items())
    errors = (
        f'<td class="num errors" title="{escape(error_title)}">{run.error_count}</td>'
        if run.error_count
        else '<td class="num">0</td>'
    )
    numbers = [
        _format.quantity(run.ttft_ms.p50),
        _format.quantity(run.ttft_ms.p95),
        _format.quantity(run.itl_ms.p50),
        _format.quantity(run.e2e_ms.p50),
        _format.quantity(run.e2e_ms.p95),
        _format.quantity(run.output_tps.p50),
        _format.quantity(run.throughput_tps),
        f"{run.input_tokens} / {run.output_tokens}",
        _format.usd(run.cost_usd),
    ]
    cells = "".join(f'<td class="num">{escape(n)}</td>' for n in numbers)
    return (
        f'<tr><td class="target">{target}</td><td class="num">{run.count}</td>'
        f'<td class="num">{run.ok}</td>{errors}{cells}</tr>'
    )


def _plot_section(runs: Sequence[RunStats]) -> str:
    if not runs:
        return ""
    by_target = group_by_target(runs)
    targets = list(by_target)
    # A model keeps its colour in every plot.
    colors = {target: svg.color(index) for index, target in enumerate(targets)}
    # Targets whose requests all failed have no rate: no bar, rather than a bar at zero.
    medians = {target: _median_tps(runs) for target, runs in by_target.items()}
    rates = {target: rate for target, rate in medians.items() if rate is not None}
    figures = [
        _figure(
            svg.cdf_plot(
                _request_series(by_target, colors, lambda r: r.ttft_ms),
                title="Time to first token (CDF)",
                x_label="TTFT (ms)",
            ),
            "Share of successful requests whose first output arrived within x ms.",
        ),
        _figure(
            svg.cdf_plot(
                _request_series(by_target, colors, lambda r: r.e2e_ms),
                title="End-to-end latency (CDF)",
                x_label="e2e (ms)",
            ),
            "Share of successful requests complete within x ms.",
        ),
        _figure(
            svg.histogram(
                [
                    svg.Series(
                        t, [g for run in rs for m in _ok(run) for g in m.chunk_gaps_ms], colors[t]
                    )
                    for t, rs in by_target.items()
                ],
                title="Gaps between output chunks",
                x_label="gap (ms)",
            ),
            "Distribution of the time between consecutive output events, per model.",
        ),
        _figure(
            svg.bar_chart(
                list(rates),
                [svg.Series("p50", list(rates.values()))],
                title="Output tokens per second (p50 per request)",
                value_label="tokens/s",
                value_format=_format.quantity,
            ),
            "Median of the per-request output rate, successful requests only.",
        ),
        _figure(
            svg.bar_chart(
                targets,
                [
                    svg.Series(
                        "cost",
                        [_known(total_cost(r.cost_usd for r in rs)) for rs in by_target.values()],
                    )
                ],
                title="Cost per model",
                value_label="US dollars",
                value_format=_format.usd,
            ),
            "Total cost of the successful requests, from models.toml prices.",
        ),
        _figure(_error_chart(by_target, colors), "Failed requests by error class, per model."),
    ]
    return (
        "<section><h2>Latency, rate and cost</h2>"
        f'<div class="plots">{"".join(figures)}</div></section>'
    )


def _figure(plot: str, caption: str) -> str:
    return f'<figure class="card">{plot}<figcaption>{escape(caption)}</figcaption></figure>'


def _ok(run: RunStats) -> Iterable[RequestMetrics]:
    return (m for m in run.requests if m.error is None)


def _request_series(
    by_target: dict[str, list[RunStats]], colors: dict[str, str], figure: FigureOf
) -> list[svg.Series]:
    series = []
    for target, runs in by_target.items():
        values = [v for run in runs for m in _ok(run) if (v := figure(m)) is not None]
        series.append(svg.Series(target, values, colors[target]))
    return series


def _median_tps(runs: Sequence[RunStats]) -> float | None:
    return Distribution.of(m.output_tps for run in runs for m in _ok(run)).p50


def _error_chart(by_target: dict[str, list[RunStats]], colors: dict[str, str]) -> str:
    per_target = {
        target: sum((Counter(run.errors) for run in runs), Counter())
        for target, runs in by_target.items()
    }
    failing = {t: c for t, c in per_target.items() if c}
    classes = sorted({kind for counts in failing.values() for kind in counts})
    if not classes:
        return svg.bar_chart(
            [], [], title="Errors by class", value_label="requests", empty="no failed requests"
        )
    series = [
        svg.Series(target, [float(counts[kind]) for kind in classes], colors[target])
        for target, counts in failing.items()
    ]
    return svg.bar_chart(
        classes,
        series,
        title="Errors by class",
        value_label="failed requests",
        value_format=lambda v: f"{v:.0f}",
    )


def _conformance_section(outcomes: Sequence[TestOutcome]) -> str:
    if not conformance_outcomes(outcomes):
        return ""
    matrix = conformance_matrix(outcomes)
    head = "<th>check</th>" + "".join(
        f'<th class="target">{escape(t)}</th>' for t in matrix.targets
    )
    rows = []
    theme = None
    for test in matrix.tests:
        if matrix.themes.get(test) != theme:
            theme = matrix.themes.get(test)
            span = len(matrix.targets) + 1
            rows.append(f'<tr class="theme"><th colspan="{span}">{escape(theme or "")}</th></tr>')
        cells = []
        for target in matrix.targets:
            cell = matrix.cell(test, target)
            if cell is None:
                cells.append(f'<td class="cell absent" title="not run">{_format.MISSING}</td>')
                continue
            symbol, cls = CELLS[cell.outcome]
            tip = cell.outcome + (f": {cell.message}" if cell.message else "")
            cells.append(f'<td class="cell {cls}" title="{escape(tip)}">{escape(symbol)}</td>')
        rows.append(f'<tr><td class="check">{escape(test)}</td>{"".join(cells)}</tr>')
    return (
        "<section><h2>Conformance</h2>"
        f'<div class="table-wrap"><table class="matrix"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        '<p class="legend">✓ passed · ✗ failed · error: error outside the test body · '
        "skip: skipped (hover a cell for the reason)</p></section>"
    )


def _known(cost: float | None) -> float:
    """An unknown cost as NaN, which the bar chart leaves out."""
    return math.nan if cost is None else cost


def _outcomes_section(outcomes: Sequence[TestOutcome]) -> str:
    """Ordinary provider tests, apart from the conformance matrix."""
    if not outcomes:
        return ""
    rows = []
    for outcome in outcomes:
        symbol, cls = CELLS[outcome.outcome]
        reason = outcome.message if outcome.outcome != "passed" else ""
        rows.append(
            f'<tr><td class="check">{escape(outcome.name)}</td><td>{escape(outcome.target)}</td>'
            f'<td class="cell {cls}">{escape(symbol)}</td><td>{escape(reason)}</td></tr>'
        )
    return (
        "<section><h2>Tests</h2>"
        '<div class="table-wrap"><table class="matrix"><thead><tr><th>test</th><th>target</th>'
        f"<th>outcome</th><th>reason</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        "</div></section>"
    )
