"""How every report names and groups runs."""

from __future__ import annotations

from collections.abc import Sequence

from pytest_llmbench.stats import RunStats


def run_label(name: str, target: str) -> str:
    """A run as reports name it: `name (provider:model)`, or the target alone."""
    return f"{name} ({target})" if name else target


def group_runs(runs: Sequence[RunStats]) -> dict[str, list[RunStats]]:
    """Runs grouped by name, groups and members in the order they first appear."""
    groups: dict[str, list[RunStats]] = {}
    for run in runs:
        groups.setdefault(run.name, []).append(run)
    return groups


def group_by_target(runs: Sequence[RunStats]) -> dict[str, list[RunStats]]:
    """Runs grouped by provider:model, in the order they first appear."""
    groups: dict[str, list[RunStats]] = {}
    for run in runs:
        groups.setdefault(run.id, []).append(run)
    return groups
