"""Telling the user which error responses a recording left out, in the test and the summary.

Error responses (status >= 400) are recorded only with `@pytest.mark.live(record_errors=True)`;
a recording that silently drops them would pass now and skip later, offline.
"""

from __future__ import annotations

from typing import Any

SECTION = "llmbench: error responses not recorded"
# pytest shows a passed test's teardown sections (-rP) only if "teardown" is in their title.
REPORT_SECTION = "llmbench teardown: error responses not recorded"
RECORD_THEM = "@pytest.mark.live(record_errors=True)"


def describe(errors: list[str]) -> str:
    """The test's report section: each response left out, and the marker that records it."""
    lines = [f"not recorded: {error}" for error in errors]
    lines.append(f"error responses are recorded only with {RECORD_THEM} on the test")
    return "\n".join(lines)


def add_section(item: Any, report: Any, errors: list[str]) -> None:
    """Add the note to the test's teardown report (the recording is saved at teardown)."""
    if report.when == "teardown" and errors:
        report.sections.append((REPORT_SECTION, describe(errors)))


def from_report(report: Any) -> list[str]:
    """The responses a (teardown) report says were left out, from its section."""
    for title, text in getattr(report, "sections", []):
        if title == REPORT_SECTION:
            return [
                line.removeprefix("not recorded: ")
                for line in str(text).splitlines()
                if line.startswith("not recorded: ")
            ]
    return []


def summary(notes: dict[str, list[str]]) -> str:
    """The session summary: every test whose recording left error responses out."""
    lines = [f"{nodeid}: {', '.join(errors)}" for nodeid, errors in notes.items()]
    lines.append(f"these tests passed, but a replay will not see the errors: add {RECORD_THEM}")
    return "\n".join(lines) + "\n"


class SessionNotes:
    """A pytest plugin object: gathers the notes from test reports (on the xdist controller
    too, as reports reach it) and prints them at the end of the session."""

    def __init__(self) -> None:
        self.notes: dict[str, list[str]] = {}

    def pytest_runtest_logreport(self, report: Any) -> None:
        errors = from_report(report) if report.when == "teardown" else []
        if errors:
            self.notes[report.nodeid] = errors

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.notes:
            terminalreporter.section(SECTION, yellow=True)
            terminalreporter.write(summary(self.notes))
