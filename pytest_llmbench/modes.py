"""What a live test does: call the real endpoint, replay its cassette, record, or skip.

This is the README's mode table as one pure function, so every row can be tested without pytest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RecordMode = Literal["none", "once", "new_episodes", "all", "rewrite"]
RECORD_MODES: tuple[RecordMode, ...] = ("none", "once", "new_episodes", "all", "rewrite")
Action = Literal["live", "replay", "record", "drift", "skip", "fail"]


@dataclass(frozen=True)
class Mode:
    """The decision for one live test. `reason` explains skips and failures to the user."""

    action: Action
    reason: str = ""
    record_mode: RecordMode = "none"

    @property
    def uses_network(self) -> bool:
        return self.action in ("live", "record", "drift")


def decide(
    *,
    replay: bool,
    record_mode: RecordMode | None,
    missing_credentials: str | None,
    cassette_exists: bool,
    strict: bool,
    record_command: str,
    drift: bool = False,
) -> Mode:
    """One row of the mode table.

    `missing_credentials` is the message naming what is missing (`X is not set`) or None.
    `record_command` is the exact command that would record this test's cassette.
    `drift` (`--llm-drift`) calls the endpoint and compares with the cassette, read-only.
    """
    if drift:
        return drift_mode(missing_credentials=missing_credentials, cassette_exists=cassette_exists)
    if replay or record_mode == "none":
        if cassette_exists:
            return Mode("replay")
        reason = f"no cassette to replay; record it with: {record_command}"
        return Mode("fail" if strict else "skip", reason)
    if record_mode is not None:
        if missing_credentials:
            # A recording job that records nothing must not pass green: always an error.
            return Mode(
                "fail",
                f"cannot record: {missing_credentials}; set it to record, "
                "or leave out --llm-record-mode to replay the cassettes",
            )
        return Mode("record", record_mode=record_mode)
    if not missing_credentials:
        return Mode("live")
    if cassette_exists:
        return Mode("replay")
    reason = (
        f"{missing_credentials} and there is no cassette; set it and record with: {record_command}"
    )
    return Mode("fail" if strict else "skip", reason)


def drift_mode(*, missing_credentials: str | None, cassette_exists: bool) -> Mode:
    """`--llm-drift`: live calls paired with the cassette's recordings; tests without a
    cassette have nothing to compare with, and tests without credentials cannot call."""
    if not cassette_exists:
        return Mode("skip", "--llm-drift: no cassette to compare with")
    if missing_credentials:
        return Mode("skip", f"--llm-drift: cannot call the endpoint: {missing_credentials}")
    return Mode("drift")
