"""The drift part of the reports: `--llm-drift` comparisons per provider:model, as terminal
lines and as an HTML section."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from pytest_llmbench.drift.compare import CHANGE_KINDS, ChangeKind, DriftComparison


@dataclass
class TargetDrift:
    """A provider:model's comparisons and its change counts by kind."""

    target: str
    comparisons: list[DriftComparison] = field(default_factory=list)

    def count(self, kind: ChangeKind) -> int:
        return sum(c.count(kind) for c in self.comparisons)

    @property
    def unmatched(self) -> int:
        return sum(1 for c in self.comparisons if c.interaction is None)

    def summary(self) -> str:
        """`2 responses compared: 1 added, 1 removed, 0 retyped`."""
        compared = len(self.comparisons) - self.unmatched
        counts = ", ".join(f"{self.count(kind)} {kind}" for kind in CHANGE_KINDS)
        text = f"{compared} response(s) compared: {counts}"
        if self.unmatched:
            text += f"; {self.unmatched} without a matching recording"
        return text


def by_target(comparisons: Sequence[DriftComparison]) -> list[TargetDrift]:
    """The comparisons grouped by provider:model, in order of first appearance."""
    groups: dict[str, TargetDrift] = {}
    for comparison in comparisons:
        groups.setdefault(comparison.target, TargetDrift(comparison.target)).comparisons.append(
            comparison
        )
    return list(groups.values())


def _label(comparison: DriftComparison) -> str:
    where = f"{comparison.cassette}"
    if comparison.interaction is not None:
        where += f" #{comparison.interaction}"
    return f"{comparison.nodeid}  ({where}; {comparison.request})"


def drift_lines(comparisons: Sequence[DriftComparison], breaches: Sequence[str] = ()) -> list[str]:
    """The terminal summary: per provider:model its counts, then each response with changes
    (or without a recording) and its changes; then the breached drift rules."""
    lines: list[str] = []
    for group in by_target(comparisons):
        lines.append(f"{group.target}: {group.summary()}")
        for comparison in group.comparisons:
            if not comparison.changes and not comparison.note:
                continue
            lines.append(f"  {_label(comparison)}")
            lines += [f"    {change.describe()}" for change in comparison.changes]
            if comparison.note:
                lines.append(f"    {comparison.note}")
    lines += [f"FAILED {breach}" for breach in breaches]
    return lines


def drift_section(comparisons: Sequence[DriftComparison]) -> str:
    """The HTML report's drift section: one table row per change, grouped by provider:model."""
    if not comparisons:
        return ""
    rows = []
    for group in by_target(comparisons):
        rows.append(
            f'<tr class="group"><th colspan="4">{escape(group.target)} · '
            f"{escape(group.summary())}</th></tr>"
        )
        for comparison in group.comparisons:
            for change in comparison.changes:
                rows.append(
                    f"<tr><td>{escape(change.kind)}</td><td>{escape(change.scope)}</td>"
                    f"<td><code>{escape(_where(change.event, change.path))}</code></td>"
                    f"<td>{escape(_types(change.recorded, change.live))}"
                    f'<br><span class="legend">{escape(_label(comparison))}</span></td></tr>'
                )
            if comparison.note:
                rows.append(
                    f'<tr><td colspan="4">{escape(comparison.note)}'
                    f'<br><span class="legend">{escape(_label(comparison))}</span></td></tr>'
                )
    return (
        "<section><h2>Drift</h2>"
        '<div class="table-wrap"><table><thead><tr><th>change</th><th>what</th>'
        "<th>event: path</th><th>recorded → live</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        '<p class="legend">Live responses compared with their recordings (--llm-drift): '
        "field paths and JSON types per event type, event names, allowlisted headers.</p>"
        "</section>"
    )


def _where(event: str, path: str) -> str:
    return f"{event}: {path or '(root)'}" if event else path


def _types(recorded: list[str], live: list[str]) -> str:
    return f"{'|'.join(recorded) or '—'} → {'|'.join(live) or '—'}"
