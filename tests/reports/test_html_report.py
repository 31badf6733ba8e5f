"""The HTML report: one self-contained page with inline SVG plots and escaped text."""

from __future__ import annotations

import os
import re
from pathlib import Path

from report_data import OUTCOMES, anthropic_run, failed, openai_run, outcome, results

from pytest_llmbench.reports import render_html, write_html
from pytest_llmbench.results import Results
from pytest_llmbench.stats import RunStats

HOSTILE = "<script>alert('x')</script>"
EXTERNAL = re.compile(
    r"""(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|@import|url\(\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE,
)


def hostile_results() -> Results:
    return results(
        [openai_run(HOSTILE), anthropic_run()],
        [outcome(HOSTILE, "openai:gpt-a", "failed", "<img src=x onerror=alert(1)>")],
    )


def test_write_html_writes_one_file(tmp_path: Path) -> None:
    write_html(tmp_path / "report.html", results())
    assert os.listdir(tmp_path) == ["report.html"]
    assert (tmp_path / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_page_references_no_external_resource() -> None:
    page = render_html(results())
    assert not EXTERNAL.search(page)
    assert "http://" not in page
    assert "https://" not in page


def test_page_has_no_script_link_or_image_elements() -> None:
    page = render_html(results()).lower()
    assert "<script" not in page
    assert "<link" not in page
    assert "<img" not in page
    assert "<iframe" not in page


def test_page_forbids_loading_anything_at_view_time() -> None:
    page = render_html(results())
    assert "Content-Security-Policy" in page
    assert "default-src 'none'" in page


def test_page_has_the_six_plots() -> None:
    page = render_html(results())
    assert page.count("<svg") == 6
    for title in (
        "Time to first token (CDF)",
        "End-to-end latency (CDF)",
        "Gaps between output chunks",
        "Output tokens per second (p50 per request)",
        "Cost per model",
        "Errors by class",
    ):
        assert f">{title}</text>" in page


def test_plots_have_a_legend_entry_per_model() -> None:
    page = render_html(results())
    ttft = page[page.index('aria-label="Time to first token (CDF)"') :]
    ttft = ttft[: ttft.index("</svg>")]
    assert ">openai:gpt-a</text>" in ttft
    assert ">anthropic:claude-b</text>" in ttft


def test_error_plot_has_a_bar_per_error_class() -> None:
    page = render_html(results())
    errors = page[page.index('aria-label="Errors by class"') :]
    errors = errors[: errors.index("</svg>")]
    assert ">RateLimitError</text>" in errors
    assert "<title>RateLimitError · anthropic:claude-b: 1</title>" in errors


def test_run_table_shows_the_run_figures() -> None:
    page = render_html(results())
    row = page[page.index('<td class="target">openai:gpt-a') :]
    row = row[: row.index("</tr>")]
    cells = re.findall(r'<td class="num[^"]*"[^>]*>([^<]*)</td>', row)
    # n, ok, errors, TTFT p50, p95, ITL p50, e2e p50, p95, tok/s p50, throughput, tokens, cost
    assert cells == [
        "4", "4", "0", "25.0", "38.5", "3.50", "250", "385", "65.0", "10.0", "48 / 20", "0.0040",
    ]  # fmt: skip


def test_errors_are_highlighted_in_the_run_table() -> None:
    page = render_html(results())
    assert '<td class="num errors" title="RateLimitError: 1">1</td>' in page


def test_conformance_matrix_has_coloured_cells() -> None:
    page = render_html(results())
    assert '<td class="cell passed" title="passed">✓</td>' in page
    assert '<td class="cell failed" title="failed: usage missing">✗</td>' in page
    assert '<td class="cell skipped" title="skipped: no tool support">skip</td>' in page
    assert '<td class="cell absent" title="not run">–</td>' in page


def test_ordinary_tests_get_their_own_table_not_matrix_rows() -> None:
    ordinary = outcome("test_ttfb", "openai:gpt-a", "failed", "too slow", theme=None)
    page = render_html(results(outcomes=[*OUTCOMES, ordinary]))
    matrix, tests = page.split("<h2>Conformance</h2>")[1].split("<h2>Tests</h2>")
    assert "test_ttfb" not in matrix
    assert '<td class="check">test_ttfb</td><td>openai:gpt-a</td>' in tests
    assert "too slow" in tests


def test_checks_passed_card_counts_conformance_checks_only() -> None:
    ordinary = outcome("test_ttfb", "openai:gpt-a", "passed", theme=None)
    page = render_html(results(outcomes=[*OUTCOMES, ordinary]))
    assert '<div class="value">3 / 5</div><div class="label">checks passed</div>' in page


def test_hostile_names_and_messages_are_escaped() -> None:
    page = render_html(hostile_results())
    assert HOSTILE not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_a_run_without_requests_still_renders() -> None:
    page = render_html(results([openai_run().model_copy(update={"requests": []})], []))
    assert page.count("<svg") == 6
    assert ">no data</text>" in page


def test_a_run_whose_requests_all_failed_still_renders() -> None:
    run = RunStats.from_metrics([failed("openai", "gpt-a", i) for i in range(3)], wall_s=1.0)
    page = render_html(results([run], []))
    assert page.count("<svg") == 6
    assert "<title>RateLimitError · openai:gpt-a: 3</title>" in page


def test_values_no_axis_can_show_are_left_out_of_the_plots() -> None:
    run = openai_run()
    run.requests[0].ttft_ms = float("nan")
    run.requests[1].chunk_gaps_ms = [float("inf")]
    page = render_html(results([run], []))
    assert page.count("<svg") == 6
    assert re.search(r"\b(nan|inf)\b", page, re.IGNORECASE) is None


def test_a_model_keeps_its_colour_in_every_plot() -> None:
    page = render_html(results())
    legend = re.search(r'fill="(#\w+)"/><text[^>]*>anthropic:claude-b</text>', page)
    error_bar = re.search(r'fill="(#\w+)" rx="2"><title>RateLimitError · anthropic:claude-b', page)
    assert legend is not None
    assert error_bar is not None
    assert legend.group(1) == error_bar.group(1) != "#3b6fb6"  # not the first model's colour
