"""The terminal report at 100 columns: per run group a compact table (the pytest summary) or
the detailed tables of `llmbench run`, and the conformance matrix."""

from __future__ import annotations

import io
import re

import pytest
from report_data import OUTCOMES, anthropic_run, openai_run, outcome, results
from rich.console import Console

from pytest_llmbench.metrics import RequestMetrics
from pytest_llmbench.reports import compare, parse_rules, render_terminal, terminal_text
from pytest_llmbench.reports.terminal import byte_size, token_count
from pytest_llmbench.results import Results, RunMeta
from pytest_llmbench.stats import RunStats

RED_BOLD = "\x1b[1;31m"


def styled_cell(style: str, content: str) -> re.Pattern[str]:
    """A cell printed in an ANSI style (the style spans the cell's padding too)."""
    return re.compile(re.escape(f"\x1b[{style}m") + r"\s*" + re.escape(content) + r"\s*\x1b\[0m")


def render(results: Results, *, styles: bool = False) -> str:
    console = Console(
        file=io.StringIO(), record=True, width=100, force_terminal=styles, color_system="standard"
    )
    render_terminal(results, console)
    return console.export_text(styles=styles)


def line_of(text: str, needle: str) -> str:
    return next(line for line in text.splitlines() if needle in line)


def test_lines_fit_in_100_columns() -> None:
    text = render(results())
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 100


def test_run_group_lists_each_target_with_its_figures() -> None:
    text = render(results())
    assert "test_chat" in text
    # n, ok, err, TTFT p50/p95, ITL p50, e2e p50/p95, tok/s p50, throughput, cost
    assert line_of(text, "openai:gpt-a").split() == [
        "openai:gpt-a", "4", "4", "0", "25.0/38.5", "3.50", "250/385", "65.0", "10.0", "0.0040",
    ]  # fmt: skip
    assert line_of(text, "anthropic:claude-b").split()[:6] == [
        "anthropic:claude-b", "4", "3", "1", "200/290", "–",
    ]  # fmt: skip


def test_each_run_name_gets_its_own_table() -> None:
    text = render(results([openai_run("test_first"), openai_run("test_second")]))
    lines = text.splitlines()
    first = lines.index(line_of(text, "test_first"))
    second = lines.index(line_of(text, "test_second"))
    assert first < second
    assert sum("openai:gpt-a" in line for line in lines[first:second]) == 1


def test_errors_are_highlighted_red_and_broken_down() -> None:
    styled = render(results(), styles=True)
    assert styled_cell("1;31", "1").search(line_of(styled, "anthropic:claude-b"))
    assert RED_BOLD not in line_of(styled, "openai:gpt-a")
    assert "errors: anthropic:claude-b: RateLimitError x1" in render(results())


def test_replayed_runs_are_marked() -> None:
    text = render(results([openai_run(replayed=True), anthropic_run()]))
    assert "replay" in text
    assert line_of(text, "openai:gpt-a").split()[-1] == "✓"
    assert line_of(text, "anthropic:claude-b").split()[-1] == "0.0030"


def test_estimated_usage_gets_a_one_line_note() -> None:
    text = render(results([openai_run(), anthropic_run(estimated=True)]))
    note = line_of(text, "estimated")
    assert note.startswith("Note: output tokens estimated")
    assert note.rstrip().endswith("anthropic:claude-b")


def test_no_note_without_estimated_usage() -> None:
    assert "estimated" not in render(results())


def test_conformance_matrix_shows_outcome_per_check_and_target() -> None:
    text = render(results())
    assert line_of(text, "check").split() == ["check", "openai:gpt-a", "anthropic:claude-b"]
    assert line_of(text, "test_streaming").split() == ["test_streaming", "✓", "✓"]
    assert line_of(text, "test_usage").split() == ["test_usage", "✓", "✗"]
    assert line_of(text, "test_tools").split() == ["test_tools", "skip", "–"]


def test_conformance_cells_are_coloured() -> None:
    styled = render(results(), styles=True)
    assert styled_cell("1;32", "✓").search(line_of(styled, "test_usage"))
    assert styled_cell("1;31", "✗").search(line_of(styled, "test_usage"))
    assert styled_cell("33", "skip").search(line_of(styled, "test_tools"))


def test_ordinary_tests_are_listed_apart_from_the_matrix() -> None:
    ordinary = outcome("test_ttfb", "openai:gpt-a", "failed", "too slow", theme=None)
    text = render(results(outcomes=[*OUTCOMES, ordinary]))
    matrix, tests = text.split("Conformance")[1].split("Tests")
    assert "test_ttfb" not in matrix
    assert line_of(tests, "test_ttfb").split() == ["test_ttfb", "openai:gpt-a", "✗", "too", "slow"]


def test_only_ordinary_tests_make_no_matrix() -> None:
    ordinary = outcome("test_ttfb", "openai:gpt-a", "passed", theme=None)
    text = render(results(outcomes=[ordinary]))
    assert "Conformance" not in text
    assert "test_ttfb" in text


def test_matrix_rows_are_grouped_under_their_theme() -> None:
    outcomes = [
        outcome("test_usage", "openai:gpt-a", "passed", theme="answers"),
        outcome("test_one_call", "openai:gpt-a", "passed", theme="tools"),
    ]
    rows = [line.split() for line in render(results(outcomes=outcomes)).splitlines()]
    assert rows.index(["answers"]) < rows.index(["test_usage", "✓"]) < rows.index(["tools"])
    assert rows.index(["tools"]) < rows.index(["test_one_call", "✓"])


def test_rows_of_a_theme_stay_together_when_checks_finish_out_of_order() -> None:
    outcomes = [
        outcome("test_usage", "openai:gpt-a", "passed", theme="answers"),
        outcome("test_one_call", "openai:gpt-a", "passed", theme="tools"),
        outcome("test_text", "openai:gpt-a", "passed", theme="answers"),
    ]
    rows = [line.split() for line in render(results(outcomes=outcomes)).splitlines()]
    assert rows.index(["test_text", "✓"]) < rows.index(["tools"])
    assert rows.count(["answers"]) == 1


def test_failed_checks_are_listed_with_their_reason() -> None:
    text = render(results())
    assert "✗ test_usage [anthropic:claude-b]: usage missing" in text


def test_no_conformance_table_without_outcomes() -> None:
    assert "Conformance" not in render(results(outcomes=[]))


def test_repeated_check_shows_its_worst_outcome() -> None:
    outcomes = [
        outcome("test_usage", "openai:gpt-a", "passed"),
        outcome("test_usage", "openai:gpt-a", "failed"),
    ]
    text = render(results(outcomes=outcomes))
    assert line_of(text, "test_usage").split() == ["test_usage", "✗"]


def test_brackets_in_names_are_printed_not_read_as_markup() -> None:
    text = render(
        results(
            [openai_run("test_chat[bold]x[/bold]")],
            [outcome("test_x[red]", "openai:gpt-a", "passed")],
        )
    )
    assert "test_chat[bold]x[/bold]" in text
    assert "test_x[red]" in text


def test_terminal_text_holds_the_report_and_the_comparison() -> None:
    comparison = compare(results(), results(), parse_rules("ttft.p95:+20%"))
    text = terminal_text(results(), width=100, comparison=comparison)
    assert "\x1b[" not in text
    assert line_of(text, "test_usage").split() == ["test_usage", "✓", "✗"]
    assert "No regressions against the baseline" in text


def test_terminal_text_can_be_coloured() -> None:
    text = terminal_text(results(), color=True)
    assert styled_cell("1;31", "✗").search(line_of(text, "test_usage"))


# -- the detailed report (`llmbench run`) ------------------------------------------------------
#
# fast:m1: five streamed requests and one RateLimitError (100 bytes), wall 4 s
#     ttft  10, 20, 30, 40, 50      -> min 10.0, mean 30.0, p50 30.0, p95 48.0, p99 49.6, max 50.0
#     itl   1, 2, 3, 4, 5           -> 1.00, 3.00, 3.00, 4.80, 4.96, 5.00
#     e2e   100, 200, 300, 400, 1000 -> 100, 400, 300, 880, 976, 1000
#     tok/s 20, 40, 60, 80, 100     -> 20.0, 60.0, 60.0, 96.0, 99.2, 100
#     (p95: rank 4 x 0.95 = 3.8, so 40 + 0.8 x (50 - 40); p99: rank 3.96)
#     tokens 5 x 10 in / 5 x 20 out = 50/100; bytes 5 x 400 + 100 = 2100 -> 2.10 kB
#     cost 5 x 0.002 = 0.0100; throughput 100 / 4 s = 25.0 tok/s; 6 requests / 4 s = 1.50 req/s
# slow:m2: three answers not streamed (no ITL, no tok/s), wall 3 s
#     ttft  100, 200, 600           -> 100, 300, 200, 560, 592, 600 (p95: 200 + 0.9 x 400)
#     e2e   1000, 2000, 3000        -> 1000, 2000, 2000, 2900, 2980, 3000
#     tokens 3 x 1000 in / 3 x 2000 out = 3,000/6,000; bytes 3 x 150,000 = 450 kB
#     cost 3 x 0.5 = 1.50; throughput 6000 / 3 s = 2000 tok/s; 3 / 3 s = 1.00 req/s

STATISTICS = ["min", "mean", "p50", "p95", "p99", "max"]


def fast_run(name: str = "prompts.txt, concurrency 2, 6 requests") -> RunStats:
    requests = [
        RequestMetrics(
            provider="fast", model="m1", streamed=True, ttft_ms=ttft, e2e_ms=e2e, itl_ms=itl,
            output_tps=tps, input_tokens=10, output_tokens=20, cost_usd=0.002, bytes=400,
        )
        for ttft, e2e, itl, tps in [
            (10, 100, 1, 20), (20, 200, 2, 40), (30, 300, 3, 60), (40, 400, 4, 80),
            (50, 1000, 5, 100),
        ]
    ]  # fmt: skip
    requests.append(
        RequestMetrics(
            provider="fast", model="m1", status=429, e2e_ms=3.0, bytes=100,
            error="RateLimitError", error_message="fast HTTP 429: slow down",
        )
    )  # fmt: skip
    return RunStats.from_metrics(requests, wall_s=4.0, name=name)


def slow_run(name: str = "prompts.txt, concurrency 2, 6 requests") -> RunStats:
    requests = [
        RequestMetrics(
            provider="slow", model="m2", ttft_ms=ttft, e2e_ms=e2e, input_tokens=1000,
            output_tokens=2000, cost_usd=0.5, bytes=150_000,
        )
        for ttft, e2e in [(100, 1000), (200, 2000), (600, 3000)]
    ]  # fmt: skip
    return RunStats.from_metrics(requests, wall_s=3.0, name=name)


def render_detailed(results: Results, *, width: int = 100, styles: bool = False) -> str:
    console = Console(
        file=io.StringIO(), record=True, width=width, force_terminal=styles,
        color_system="standard",
    )  # fmt: skip
    render_terminal(results, console, detailed=True)
    return console.export_text(styles=styles)


def detail_table(text: str, heading: str) -> dict[str, list[str]]:
    """The rows of the detailed table headed `heading`, by provider:model."""
    lines = text.splitlines()
    start = next(
        i for i, line in enumerate(lines) if line.split() == [*heading.split(), *STATISTICS]
    )
    rows: dict[str, list[str]] = {}
    for line in lines[start + 2 :]:  # past the heading and its rule
        if not line.strip():
            break
        target, *cells = line.split()
        rows[target] = cells
    return rows


def detailed_results(runs: list[RunStats] | None = None) -> Results:
    return Results(meta=RunMeta(), runs=runs if runs is not None else [fast_run(), slow_run()])


def test_detailed_overview_compares_counts_tokens_bytes_cost_and_throughput() -> None:
    text = render_detailed(detailed_results())
    header = line_of(text, "provider:model")
    for label in ("n", "ok", "err", "in/out", "bytes", "cost $", "req/s"):
        assert label in header
    # n, ok, err, tokens in/out, bytes, cost $, throughput tok/s, requests/s
    assert line_of(text, "fast:m1").split() == [
        "fast:m1", "6", "5", "1", "50/100", "2.10", "kB", "0.0100", "25.0", "1.50",
    ]  # fmt: skip
    assert line_of(text, "slow:m2").split() == [
        "slow:m2", "3", "3", "0", "3,000/6,000", "450", "kB", "1.50", "2000", "1.00",
    ]  # fmt: skip
    assert "errors: fast:m1: RateLimitError x1" in text


def test_detailed_tables_give_min_mean_percentiles_and_max_per_quantity() -> None:
    text = render_detailed(detailed_results())
    assert detail_table(text, "TTFT ms") == {
        "fast:m1": ["10.0", "30.0", "30.0", "48.0", "49.6", "50.0"],
        "slow:m2": ["100", "300", "200", "560", "592", "600"],
    }
    assert detail_table(text, "ITL ms") == {
        "fast:m1": ["1.00", "3.00", "3.00", "4.80", "4.96", "5.00"],
        "slow:m2": ["–"] * 6,  # not streamed: no inter-token latency
    }
    assert detail_table(text, "e2e ms") == {
        "fast:m1": ["100", "400", "300", "880", "976", "1000"],  # the failure's 3 ms left out
        "slow:m2": ["1000", "2000", "2000", "2900", "2980", "3000"],
    }
    assert detail_table(text, "tok/s per req") == {
        "fast:m1": ["20.0", "60.0", "60.0", "96.0", "99.2", "100"],
        "slow:m2": ["–"] * 6,
    }


def test_detailed_tables_come_in_order_and_line_up() -> None:
    text = render_detailed(detailed_results())
    lines = text.splitlines()
    headings = ["TTFT ms", "ITL ms", "e2e ms", "tok/s per req"]
    header_lines = [next(line for line in lines if line.startswith(h)) for h in headings]
    assert [lines.index(line) for line in header_lines] == sorted(
        lines.index(line) for line in header_lines
    )
    assert lines.index(line_of(text, "provider:model")) < lines.index(header_lines[0])
    assert len({len(line.rstrip()) for line in header_lines}) == 1  # same columns
    assert len({line.index("min") for line in header_lines}) == 1
    assert max(len(line.rstrip()) for line in lines) <= 100


def test_detailed_report_fits_with_long_ids_and_narrow_consoles() -> None:
    long_runs = [
        RunStats.from_metrics(
            [RequestMetrics(provider="azure-openai-eastus", model=model, ttft_ms=123456.0,
                            e2e_ms=1234567.0, input_tokens=1_234_567, output_tokens=7_654_321,
                            cost_usd=1234.5, bytes=9_876_543_210)],
            wall_s=3.0, name="long",
        )
        for model in ("gpt-4o-mini-2024-07-18-with-a-long-suffix", "o3")
    ]  # fmt: skip
    for width in (100, 80):
        text = render_detailed(detailed_results(long_runs), width=width)
        assert max(len(line.rstrip()) for line in text.splitlines()) <= width
        assert "1.23M/7.65M" in text
        assert "9.88 GB" in text
        assert "1,234.50" in text
        assert line_of(text, "1,234.50").split()[-1] == "0.33"  # req/s: nothing cut off
        assert "suffix" in text  # long ids fold
        assert detail_table(text, "e2e ms")["azure-openai-eastus:o3"][-1] == "1234567"


def test_detailed_report_keeps_error_highlight_replay_note_and_conformance() -> None:
    styled = render_detailed(results([openai_run(replayed=True), anthropic_run()]), styles=True)
    assert styled_cell("1;31", "1").search(line_of(styled, "anthropic:claude-b"))
    text = render_detailed(results([openai_run(replayed=True), anthropic_run(estimated=True)]))
    assert "replay" in line_of(text, "provider:model")
    assert line_of(text, "openai:gpt-a").split()[-1] == "✓"
    assert line_of(text, "Note:").startswith("Note: output tokens estimated")
    assert line_of(text, "test_usage").split() == ["test_usage", "✓", "✗"]


def test_no_replay_column_when_nothing_was_replayed() -> None:
    assert "replay" not in render_detailed(detailed_results())


def test_each_run_name_gets_its_own_detailed_tables() -> None:
    text = render_detailed(detailed_results([fast_run("first"), slow_run("second")]))
    lines = text.splitlines()
    first, second = lines.index(line_of(text, "first")), lines.index(line_of(text, "second"))
    assert sum(line.startswith("TTFT ms") for line in lines[first:second]) == 1
    assert "slow:m2" not in "\n".join(lines[first:second])
    assert sum(line.startswith("TTFT ms") for line in lines[second:]) == 1


def test_compact_report_stays_the_default() -> None:
    text = render(detailed_results())
    assert "p99" not in text
    assert line_of(text, "fast:m1").split()[:4] == ["fast:m1", "6", "5", "1"]


def test_terminal_text_can_be_detailed() -> None:
    text = terminal_text(detailed_results(), detailed=True)
    assert detail_table(text, "TTFT ms")["slow:m2"] == ["100", "300", "200", "560", "592", "600"]
    assert "p99" not in terminal_text(detailed_results())


@pytest.mark.parametrize(
    ("count", "shown"),
    [(0, "0 B"), (999, "999 B"), (1000, "1.00 kB"), (2100, "2.10 kB"), (999_499, "999 kB"),
     (999_500, "1.00 MB"), (34_500_000, "34.5 MB"), (9_876_543_210, "9.88 GB")],
)  # fmt: skip
def test_byte_sizes_use_decimal_units(count: int, shown: str) -> None:
    assert byte_size(count) == shown


@pytest.mark.parametrize(
    ("count", "shown"),
    [(48, "48"), (99_999, "99,999"), (100_000, "100k"), (999_499, "999k"),
     (999_500, "1.00M"), (7_654_321, "7.65M")],
)  # fmt: skip
def test_token_counts_stay_short(count: int, shown: str) -> None:
    assert token_count(count) == shown


LEGEND_ENTRIES = ["✓ passed", "✗ failed", "error: setup failed", "skip: skipped", "–: not run"]


@pytest.mark.parametrize("width", [100, 60, 30])
def test_conformance_legend_never_splits_an_entry(width: int) -> None:
    # one narrow column: a caption would wrap at the table's width, inside "–: not run"
    text = terminal_text(results([], [outcome("test_x", "local:tiny", "passed")]), width=width)
    lines = text.splitlines()
    for entry in LEGEND_ENTRIES:
        assert any(entry in line for line in lines), (entry, text)
