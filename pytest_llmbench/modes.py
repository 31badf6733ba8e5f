"""What a live test does: call the real endpoint, replay its cassette, record, or skip.

This is DESIGN.md's mode table as one pure function, so every row can be tested without pytest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RecordMode = Literal["none", "once", "new_episodes", "all", "rewrite"]
RECORD_MODES: tuple[RecordMode, ...] = ("none", "once", "new_episodes", "all", "rewrite")
Action = Literal["live", "replay", "record", "skip", "fail"]


@dataclass(frozen=True)
class Mode:
    """The decision for one live test. `reason` explains skips and failures to the user."""

    action: Action
    reason: str = ""
    record_mode: RecordMode = "none"

    @property
    def uses_network(self) -> bool:
        return self.action in ("live", "record")


def decide(
    *,
    replay: bool,
    record_mode: RecordMode | None,
    missing_credentials: str | None,
    cassette_exists: bool,
    strict: bool,
    record_command: str,
) -> Mode:
    """One row of the mode table.

    `missing_credentials` is the message naming what is missing (`X is not set`) or None.
    `record_command` is the exact command that would record this test's cassette.
    """
    if replay or record_mode == "none":
        if cassette_exists:
            return Mode("replay")
        reason = f"no cassette to replay; record it with: {record_command}"
        return Mode("fail" if strict else "skip", reason)
    if record_mode is not None:
        if missing_credentials:
            return Mode("skip", f"cannot record: {missing_credentials}")
        return Mode("record", record_mode=record_mode)
    if not missing_credentials:
        return Mode("live")
    if cassette_exists:
        return Mode("replay")
    reason = (
        f"{missing_credentials} and there is no cassette; set it and record with: {record_command}"
    )
    return Mode("fail" if strict else "skip", reason)
