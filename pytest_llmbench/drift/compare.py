"""How a live response's shape differs from the recorded one: added, removed, retyped.

Sans-I/O. `compare_shapes(recorded, live)` lists the changes; `DriftComparison` is one live
response paired with its recording, as reports show it (the JSON report's `drift` section).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from pytest_llmbench.drift.shape import Shape

ChangeKind = Literal["added", "removed", "retyped"]
Scope = Literal["status", "event", "header", "field"]
CHANGE_KINDS: tuple[ChangeKind, ...] = ("added", "removed", "retyped")


class DriftChange(BaseModel):
    """One difference. `event` names the event type of a field change; `path` is the field
    (`choices[].delta.content`), the header or the event name; `recorded` and `live` are the
    JSON types (or the status codes) on each side, empty on the side that lacks it."""

    kind: ChangeKind
    scope: Scope
    event: str = ""
    path: str = ""
    recorded: list[str] = Field(default_factory=list)
    live: list[str] = Field(default_factory=list)

    def describe(self) -> str:
        """One line: `removed field message_delta: usage.output_tokens (number)`."""
        if self.scope == "status":
            return f"status {'/'.join(self.recorded)} -> {'/'.join(self.live)}"
        if self.scope in ("event", "header"):
            return f"{self.kind} {self.scope} {self.path}"
        where = f"{self.event}: {self.path or '(root)'}"
        if self.kind == "retyped":
            before, after = "|".join(self.recorded), "|".join(self.live)
            return f"retyped field {where} ({before} -> {after})"
        types = "|".join(self.live if self.kind == "added" else self.recorded)
        return f"{self.kind} field {where} ({types})"


class DriftComparison(BaseModel):
    """One live response compared with the recorded response to the same request.

    `interaction` is the index of the recording in the cassette (None when no recording
    matches the request; `note` then says so and there are no changes).
    """

    nodeid: str
    target: str  # provider:model
    cassette: str
    request: str  # "POST https://host/path"
    interaction: int | None = None
    changes: list[DriftChange] = Field(default_factory=list)
    note: str = ""

    def count(self, kind: ChangeKind) -> int:
        """How many changes of `kind` this comparison found."""
        return sum(1 for change in self.changes if change.kind == kind)


def _types(types: set[str]) -> list[str]:
    return sorted(types)


def _retyped(recorded: set[str], live: set[str]) -> bool:
    """Whether a field's types changed. `null` goes with any type: a field that is null in one
    event and a string in the next is one nullable field, whichever events a run happened to
    send."""
    before, after = recorded - {"null"}, live - {"null"}
    return bool(before and after and before != after)


def compare_shapes(recorded: Shape, live: Shape) -> list[DriftChange]:
    """The changes from `recorded` to `live`, in a stable order: status, events, headers,
    then fields by event (recorded order, then new events) and path."""
    changes: list[DriftChange] = []
    if recorded.status != live.status:
        changes.append(
            DriftChange(
                kind="retyped",
                scope="status",
                path="status",
                recorded=[str(recorded.status)],
                live=[str(live.status)],
            )
        )
    for name in recorded.events:
        if name not in live.fields:
            changes.append(DriftChange(kind="removed", scope="event", path=name))
    for name in live.events:
        if name not in recorded.fields:
            changes.append(DriftChange(kind="added", scope="event", path=name))
    for header in sorted(recorded.headers - live.headers):
        changes.append(DriftChange(kind="removed", scope="header", path=header))
    for header in sorted(live.headers - recorded.headers):
        changes.append(DriftChange(kind="added", scope="header", path=header))
    for name in recorded.events:
        if name in live.fields:
            changes += _field_changes(name, recorded.fields[name], live.fields[name])
    return changes


def _field_changes(
    event: str, recorded: dict[str, set[str]], live: dict[str, set[str]]
) -> list[DriftChange]:
    changes: list[DriftChange] = []
    for path in sorted(set(recorded) | set(live)):
        if path not in live:
            if not _under_removed(path, recorded, live):
                changes.append(
                    DriftChange(
                        kind="removed",
                        scope="field",
                        event=event,
                        path=path,
                        recorded=_types(recorded[path]),
                    )
                )
        elif path not in recorded:
            if not _under_removed(path, live, recorded):
                changes.append(
                    DriftChange(
                        kind="added", scope="field", event=event, path=path, live=_types(live[path])
                    )
                )
        elif _retyped(recorded[path], live[path]):
            changes.append(
                DriftChange(
                    kind="retyped",
                    scope="field",
                    event=event,
                    path=path,
                    recorded=_types(recorded[path]),
                    live=_types(live[path]),
                )
            )
    return changes


def _parent(path: str) -> str | None:
    """`a[].b` -> `a[]` -> `a` -> `` (the root) -> None."""
    if not path:
        return None
    if path.endswith("[]"):
        return path[:-2]
    cut = path.rfind(".")
    return path[:cut] if cut != -1 else ""


def _under_removed(path: str, side: dict[str, set[str]], other: dict[str, set[str]]) -> bool:
    """Whether `path` lies under a parent that is itself missing from `other` (only the
    outermost missing field is reported, not each field inside it)."""
    parent = _parent(path)
    return parent is not None and parent in side and parent not in other
