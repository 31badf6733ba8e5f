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


def node_run_name(nodeid: str, param_id: str | None, target_id: str | None) -> str:
    """A test's run name: its node id, parameters included, minus the provider:model one.

    The target is a run's own field (provider, model), so one test's runs on several targets
    share a name and sit side by side; any other parameter keeps runs apart.
    """
    if not param_id or not nodeid.endswith(f"[{param_id}]"):
        return nodeid
    base = nodeid[: -len(param_id) - 2]
    ids = param_id
    if target_id:
        if ids == target_id:
            ids = ""
        elif ids.startswith(f"{target_id}-"):
            ids = ids[len(target_id) + 1 :]
        elif ids.endswith(f"-{target_id}"):
            ids = ids[: -len(target_id) - 1]
        else:
            ids = ids.replace(f"-{target_id}-", "-", 1)
    return f"{base}[{ids}]" if ids else base
