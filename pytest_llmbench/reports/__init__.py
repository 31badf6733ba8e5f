"""Reports of a `Results`: JSON, CSV, HTML, the terminal, and comparison with a baseline.

Plain modules without pytest: the plugin and the `llmbench` command both call them.
"""

from __future__ import annotations

from pytest_llmbench.reports.comparison import Comparison, ComparisonRow, compare
from pytest_llmbench.reports.csv_report import write_csv
from pytest_llmbench.reports.drift_report import drift_lines, drift_section
from pytest_llmbench.reports.html_report import render_html, write_html
from pytest_llmbench.reports.json_report import (
    ReportFormatError,
    read_json,
    render_json,
    write_json,
)
from pytest_llmbench.reports.rules import DriftRule, Rule, RuleError, parse_drift_rules, parse_rules
from pytest_llmbench.reports.terminal import render_terminal, terminal_text

__all__ = [
    "Comparison",
    "ComparisonRow",
    "DriftRule",
    "ReportFormatError",
    "Rule",
    "RuleError",
    "compare",
    "drift_lines",
    "drift_section",
    "parse_drift_rules",
    "parse_rules",
    "read_json",
    "render_html",
    "render_json",
    "render_terminal",
    "terminal_text",
    "write_csv",
    "write_html",
    "write_json",
]
