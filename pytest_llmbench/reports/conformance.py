"""The conformance matrix: provider checks (rows) by targets (columns), as the reports show it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

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

    def cell(self, test: str, target: str) -> Cell | None:
        return self.cells.get((test, target))


def conformance_matrix(outcomes: Sequence[TestOutcome]) -> ConformanceMatrix:
    """Rows and columns in the order they first appear; a repeated check keeps its worst outcome."""
    tests: dict[str, None] = {}
    targets: dict[str, None] = {}
    cells: dict[tuple[str, str], Cell] = {}
    for outcome in outcomes:
        tests.setdefault(outcome.name)
        targets.setdefault(outcome.target)
        cell = cells.setdefault((outcome.name, outcome.target), Cell(outcome.outcome))
        cell.runs.append(outcome)
        if _SEVERITY[outcome.outcome] > _SEVERITY[cell.outcome]:
            cell.outcome = outcome.outcome
    return ConformanceMatrix(list(tests), list(targets), cells)
