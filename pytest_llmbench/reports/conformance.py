"""The conformance matrix: conformance checks (rows) by targets (columns), as the reports
show it; ordinary tests are listed apart (`other_outcomes`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_llmbench.results import Outcome, TestOutcome

# When a check ran more than once against a target (parametrized beyond the target),
# the cell shows the worst outcome.
_SEVERITY: dict[Outcome, int] = {"failed": 3, "error": 2, "passed": 1, "skipped": 0}


@dataclass
class Cell:
    """The outcome of one check on one target, and the outcomes behind it."""

    outcome: Outcome
    runs: list[TestOutcome] = field(default_factory=list)

    @property
    def message(self) -> str:
        """The first message of an outcome like the cell's (why it failed or was skipped)."""
        return next((r.message for r in self.runs if r.outcome == self.outcome and r.message), "")


@dataclass
class ConformanceMatrix:
    tests: list[str]
    targets: list[str]
    cells: dict[tuple[str, str], Cell]
    themes: dict[str, str] = field(default_factory=dict)  # check -> theme

    def cell(self, test: str, target: str) -> Cell | None:
        return self.cells.get((test, target))

    def failures(self) -> list[tuple[str, str, Cell]]:
        """(check, target, cell) of every failed or errored cell, row by row."""
        return [
            (test, target, cell)
            for test in self.tests
            for target in self.targets
            if (cell := self.cell(test, target)) is not None and cell.outcome in ("failed", "error")
        ]


def conformance_outcomes(outcomes: Sequence[TestOutcome]) -> list[TestOutcome]:
    """The outcomes of conformance checks (tests marked `llm_conformance`)."""
    return [o for o in outcomes if o.conformance is not None]


def other_outcomes(outcomes: Sequence[TestOutcome]) -> list[TestOutcome]:
    """The outcomes of ordinary provider tests: not in the matrix, listed on their own."""
    return [o for o in outcomes if o.conformance is None]


def conformance_matrix(outcomes: Sequence[TestOutcome]) -> ConformanceMatrix:
    """The matrix of the conformance checks among `outcomes`: rows grouped by theme, rows and
    columns in the order they first appear; a repeated check keeps its worst outcome."""
    tests: dict[str, None] = {}
    targets: dict[str, None] = {}
    themes: dict[str, str] = {}
    cells: dict[tuple[str, str], Cell] = {}
    for outcome in conformance_outcomes(outcomes):
        tests.setdefault(outcome.name)
        targets.setdefault(outcome.target)
        themes.setdefault(outcome.name, outcome.conformance or "")
        cell = cells.setdefault((outcome.name, outcome.target), Cell(outcome.outcome))
        cell.runs.append(outcome)
        if _SEVERITY[outcome.outcome] > _SEVERITY[cell.outcome]:
            cell.outcome = outcome.outcome
    # Rows grouped by theme (in the order themes first appear), then in first-run order:
    # parallel runs (xdist) finish checks out of order.
    theme_order = {theme: i for i, theme in enumerate(dict.fromkeys(themes.values()))}
    rows = sorted(tests, key=lambda test: theme_order[themes[test]])
    return ConformanceMatrix(rows, list(targets), cells, themes)


def conformance_section(outcomes: Sequence[TestOutcome]) -> dict[str, Any]:
    """The JSON report's `conformance` section: checks x targets, outcome and reason."""
    matrix = conformance_matrix(outcomes)
    counts = {name: 0 for name in _SEVERITY}
    for cell in matrix.cells.values():
        counts[cell.outcome] += 1
    return {
        "targets": matrix.targets,
        "counts": counts,
        "checks": [
            {
                "name": test,
                "theme": matrix.themes.get(test, ""),
                "results": {
                    target: {"outcome": found.outcome, "reason": found.message}
                    for target in matrix.targets
                    if (found := matrix.cell(test, target)) is not None
                },
            }
            for test in matrix.tests
        ],
    }
