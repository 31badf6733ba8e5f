"""The terminal report: a rich table per run group and the conformance matrix, at 100 columns."""

from __future__ import annotations

import io
import re

from report_data import anthropic_run, openai_run, outcome, results
from rich.console import Console

from pytest_llmbench.reports import compare, parse_rules, render_terminal, terminal_text
from pytest_llmbench.results import Results

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
