"""Baseline comparison: breaches and non-breaches per rule kind, and unmatched runs."""

from __future__ import annotations

import io

import pytest
from report_data import anthropic_run, failed, openai_run, results
from rich.console import Console

from pytest_llmbench.reports import Comparison, ComparisonRow, compare, parse_rules
from pytest_llmbench.stats import RunStats


def only_row(comparison: Comparison) -> ComparisonRow:
    (row,) = comparison.rows
    return row


def rendered(comparison: Comparison) -> str:
    console = Console(file=io.StringIO(), record=True, width=100)
    comparison.render(console)
    return console.export_text()


def test_latency_up_past_the_limit_breaches() -> None:
    # ttft p95 38.5 -> 77.0 when every latency doubles; the limit is 38.5 x 1.2 = 46.2
    comparison = compare(
        results([openai_run()]), results([openai_run(scale=2.0)]), parse_rules("ttft.p95:+20%")
    )
    row = only_row(comparison)
    assert (row.run, row.metric, row.limit) == ("test_chat (openai:gpt-a)", "ttft.p95", "+20%")
    assert (row.baseline, row.current) == (38.5, 77.0)
    assert row.change_pct == pytest.approx(100.0)
    assert row.threshold == pytest.approx(46.2)
    assert row.breached
    assert comparison.breached


def test_latency_up_within_the_limit_does_not_breach() -> None:
    comparison = compare(
        results([openai_run()]), results([openai_run(scale=1.1)]), parse_rules("ttft.p95:+20%")
    )
    row = only_row(comparison)
    assert row.change_pct == pytest.approx(10.0)
    assert not row.breached
    assert not comparison.breached


def test_latency_going_down_does_not_breach() -> None:
    comparison = compare(
        results([openai_run()]), results([openai_run(scale=0.5)]), parse_rules("e2e.p50:+20%")
    )
    assert (only_row(comparison).current, comparison.breached) == (125.0, False)


def test_rate_down_past_the_limit_breaches() -> None:
    # tokens/s p50 65 -> 52 at 0.8x; the floor is 65 x 0.9 = 58.5
    comparison = compare(
        results([openai_run()]),
        results([openai_run(tps_scale=0.8)]),
        parse_rules("tokens_per_s.p50:-10%"),
    )
    row = only_row(comparison)
    assert row.baseline == 65.0
    assert row.current == pytest.approx(52.0)
    assert row.threshold == pytest.approx(58.5)
    assert row.change_pct == pytest.approx(-20.0)
    assert row.breached


def test_rate_down_within_the_limit_does_not_breach() -> None:
    comparison = compare(
        results([openai_run()]),
        results([openai_run(tps_scale=0.95)]),
        parse_rules("tokens_per_s.p50:-10%"),
    )
    assert not only_row(comparison).breached


def test_error_rate_limit_is_absolute_not_relative_to_the_baseline() -> None:
    # anthropic:claude-b fails 1 of 4 requests in both: unchanged, but 25% > 1%
    comparison = compare(results(), results(), parse_rules("error_rate:>1%"))
    by_target = {row.target: row for row in comparison.rows}
    assert by_target["anthropic:claude-b"].current == 0.25
    assert by_target["anthropic:claude-b"].breached
    assert by_target["openai:gpt-a"].current == 0.0
    assert not by_target["openai:gpt-a"].breached


def test_error_rate_at_the_limit_does_not_breach() -> None:
    # 1 failure in 100 requests is exactly 1%: not more than 1%
    run = RunStats.from_metrics(
        [failed("openai", "gpt-a", 0)] + openai_run().requests * 24 + openai_run().requests[:3],
        wall_s=1.0,
        name="test_chat",
    )
    assert run.count == 100
    comparison = compare(results([run]), results([run]), parse_rules("error_rate:>1%"))
    assert not only_row(comparison).breached


def test_absolute_latency_ceiling_ignores_the_baseline() -> None:
    comparison = compare(
        results([openai_run(scale=10)]), results([openai_run()]), parse_rules("e2e.max:>300")
    )
    row = only_row(comparison)
    assert (row.current, row.threshold, row.breached) == (400.0, 300.0, True)


def test_runs_only_on_one_side_are_listed_not_breached() -> None:
    baseline = results([openai_run(), anthropic_run("test_old")])
    current = results([openai_run(), openai_run("test_new")])
    comparison = compare(baseline, current, parse_rules("ttft.p95:+20%"))
    assert comparison.new == ["test_new (openai:gpt-a)"]
    assert comparison.missing == ["test_old (anthropic:claude-b)"]
    assert [row.run for row in comparison.rows] == ["test_chat (openai:gpt-a)"]
    assert not comparison.breached


def test_a_figure_lost_in_the_current_run_breaches() -> None:
    # every request failed: no TTFT to compare with the baseline's
    all_failed = RunStats.from_metrics(
        [failed("openai", "gpt-a", i) for i in range(4)], wall_s=1.0, name="test_chat"
    )
    comparison = compare(
        results([openai_run()]), results([all_failed]), parse_rules("ttft.p95:+20%")
    )
    row = only_row(comparison)
    assert (row.baseline, row.current, row.breached) == (38.5, None, True)
    assert row.note == "not measured in the current run"


def test_render_lists_what_regressed() -> None:
    comparison = compare(
        results(),
        results([openai_run(scale=2.0), anthropic_run()]),
        parse_rules("ttft.p95:+20%,e2e.p50:+50%"),
    )
    text = rendered(comparison)
    assert "Regressions against the baseline" in text
    ttft = next(line for line in text.splitlines() if "ttft.p95" in line)
    assert ttft.split() == [
        "test_chat", "(openai:gpt-a)", "ttft.p95", "ms", "38.5", "77.0", "+100.0%", "+20%",
    ]  # fmt: skip
    assert "anthropic:claude-b" not in text
    assert "2 of 4 checks breached" in text


def test_render_without_regressions_says_so() -> None:
    comparison = compare(results(), results(), parse_rules("ttft.p95:+20%"))
    text = rendered(comparison)
    assert "No regressions against the baseline (2 checks: ttft.p95:+20%)" in text


def test_render_names_new_and_missing_runs() -> None:
    comparison = compare(
        results([anthropic_run("test_old")]), results([openai_run("test_new")]), parse_rules("")
    )
    text = rendered(comparison)
    assert "New runs (not in the baseline): test_new (openai:gpt-a)" in text
    assert "Missing runs (only in the baseline): test_old (anthropic:claude-b)" in text
