"""The drift report parts: terminal lines and the HTML section, per provider:model."""

from __future__ import annotations

from pytest_llmbench.drift import DriftChange, DriftComparison
from pytest_llmbench.reports import drift_lines, drift_section

REMOVED = DriftChange(
    kind="removed", scope="field", event="message_delta", path="usage.x", recorded=["number"]
)
RETYPED = DriftChange(
    kind="retyped", scope="field", event="body", path="id", recorded=["string"], live=["number"]
)


def comparison(target: str, *changes: DriftChange, interaction: int | None = 0) -> DriftComparison:
    return DriftComparison(
        nodeid=f"test_a.py::t[{target}]",
        target=target,
        cassette="cassettes/a.yaml",
        request="POST http://h/v1",
        interaction=interaction,
        changes=list(changes),
        note="" if interaction is not None else "no recorded interaction matches this request",
    )


def test_terminal_lines_count_per_target_and_list_only_responses_with_changes() -> None:
    lines = drift_lines([comparison("a:m", REMOVED), comparison("a:m"), comparison("b:m", RETYPED)])
    assert lines == [
        "a:m: 2 response(s) compared: 0 added, 1 removed, 0 retyped",
        "  test_a.py::t[a:m]  (cassettes/a.yaml #0; POST http://h/v1)",
        "    removed field message_delta: usage.x (number)",
        "b:m: 1 response(s) compared: 0 added, 0 removed, 1 retyped",
        "  test_a.py::t[b:m]  (cassettes/a.yaml #0; POST http://h/v1)",
        "    retyped field body: id (string -> number)",
    ]


def test_terminal_lines_note_unmatched_requests_and_breaches() -> None:
    lines = drift_lines([comparison("a:m", interaction=None)], ["drift:any breached on a:m"])
    assert lines[0].endswith("; 1 without a matching recording")
    assert lines[-2:] == [
        "    no recorded interaction matches this request",
        "FAILED drift:any breached on a:m",
    ]


def test_html_section_lists_each_change_escaped() -> None:
    html = drift_section([comparison("a<b>:m", REMOVED)])
    assert "<h2>Drift</h2>" in html
    assert "a&lt;b&gt;:m" in html
    assert "message_delta: usage.x" in html
    assert "number → —" in html


def test_no_comparisons_no_html_section() -> None:
    assert drift_section([]) == ""
