"""The pytest side of the report options (--llm-report, --llm-csv, --llm-html, --llm-baseline,
--llm-fail): checked at start, written at session finish, the comparison shown in the summary."""

from __future__ import annotations

import time
from typing import Any

import pytest

from pytest_llmbench import reports
from pytest_llmbench.session import BenchSession

COMPARISON_KEY = pytest.StashKey[Any]()


def check_options(config: pytest.Config) -> None:
    """Bad --llm-fail rules or an unreadable --llm-baseline are usage errors, found at start."""
    try:
        rules = reports.parse_rules(config.getoption("llm_fail") or "")
        baseline = config.getoption("llm_baseline")
        if baseline:
            reports.read_json(baseline)
    except (reports.RuleError, reports.ReportFormatError, OSError) as error:
        raise pytest.UsageError(str(error)) from None
    if rules and not config.getoption("llm_baseline"):
        raise pytest.UsageError("--llm-fail needs --llm-baseline PATH (an earlier --llm-report)")


def write_reports(session: pytest.Session, bench: BenchSession) -> None:
    """Write the asked-for report files and compare with the baseline; a breached --llm-fail
    rule fails a session that would otherwise pass."""
    config = session.config
    wanted = ("llm_report", "llm_csv", "llm_html", "llm_baseline")
    if not any(config.getoption(option) for option in wanted):
        return
    results = bench.results()
    results.meta.finished_at = time.time()
    for option, write in (
        ("llm_report", reports.write_json),
        ("llm_csv", reports.write_csv),
        ("llm_html", reports.write_html),
    ):
        path = config.getoption(option)
        if path:
            write(path, results)
    baseline = config.getoption("llm_baseline")
    if baseline:
        rules = reports.parse_rules(config.getoption("llm_fail") or "")
        comparison = reports.compare(reports.read_json(baseline), results, rules)
        config.stash[COMPARISON_KEY] = comparison
        if comparison.breached and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def write_summary(terminalreporter: Any, config: pytest.Config, bench: BenchSession | None) -> None:
    """The llmbench section of the terminal summary, with the baseline comparison if any."""
    if bench is None or not (bench.runs or bench.outcomes):
        return
    text = reports.terminal_text(
        bench.results(),
        width=max(terminalreporter._tw.fullwidth, 100),
        comparison=config.stash.get(COMPARISON_KEY, None),
        color=terminalreporter.hasmarkup,
    )
    terminalreporter.section("llmbench")
    terminalreporter.write(text)
