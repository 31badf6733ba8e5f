"""The pytest side of `--llm-drift`: its option, option checks, drift rules and the terminal
section. The comparing itself is `pytest_llmbench.drift` (no pytest there)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_llmbench import reports
from pytest_llmbench.session import BenchSession

BREACHES_KEY = pytest.StashKey[list[str]]()


def add_option(group: Any) -> None:
    """Add --llm-drift to the llmbench option group."""
    group.addoption(
        "--llm-drift",
        action="store_true",
        help="call the endpoints of tests that have cassettes and report how each response's "
        "shape (fields and types, events, headers) differs from the recording; cassettes are "
        "not written. --llm-fail drift:any (or drift:added/removed/retyped) fails on drift",
    )


def check_options(config: pytest.Config) -> None:
    """--llm-drift is live: it cannot be combined with replay or recording; drift rules need it."""
    drift = config.getoption("llm_drift")
    if drift and config.getoption("llm_replay"):
        raise pytest.UsageError("--llm-drift calls the endpoints; drop --llm-replay")
    if drift and config.getoption("llm_record_mode"):
        raise pytest.UsageError("--llm-drift never writes cassettes; drop --llm-record-mode")
    try:
        rules = reports.parse_drift_rules(config.getoption("llm_fail") or "")
    except reports.RuleError as error:
        raise pytest.UsageError(str(error)) from None
    if rules and not drift:
        listed = ",".join(str(rule) for rule in rules)
        raise pytest.UsageError(f"--llm-fail {listed} needs --llm-drift")


def apply_rules(session: pytest.Session, bench: BenchSession) -> None:
    """Fail the session when a drift rule of --llm-fail is breached."""
    config = session.config
    rules = reports.parse_drift_rules(config.getoption("llm_fail") or "")
    breaches = [line for rule in rules for line in rule.breaches(bench.drift)]
    config.stash[BREACHES_KEY] = breaches
    if breaches and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def write_summary(terminalreporter: Any, config: pytest.Config, bench: BenchSession | None) -> None:
    """The "llmbench drift" terminal section of a --llm-drift run."""
    if bench is None or not bench.options.drift:
        return
    terminalreporter.section("llmbench drift")
    breaches: list[str] = config.stash.get(BREACHES_KEY, [])
    lines = reports.drift_lines(bench.drift, breaches)
    terminalreporter.write_line("\n".join(lines) if lines else "no live response was compared")
