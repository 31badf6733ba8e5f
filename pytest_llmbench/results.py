"""What a session or a CLI run produced, as reports consume it: latency runs and test outcomes."""

from __future__ import annotations

import platform
import sys
import time
from typing import Literal

from pydantic import BaseModel, Field

from pytest_llmbench.drift.compare import DriftComparison
from pytest_llmbench.stats import RunStats

SCHEMA_VERSION = 1
Outcome = Literal["passed", "failed", "skipped", "error"]


class TestOutcome(BaseModel):
    """One provider check: a test against one provider:model, and how it ended."""

    __test__ = False  # not a pytest test class, whatever its name

    nodeid: str
    name: str  # the test function's name: the row of the conformance matrix
    target: str  # provider:model: the column
    outcome: Outcome
    duration_s: float = 0.0
    message: str = ""
    replayed: bool = False
    # The theme of a conformance check (a matrix row); None for an ordinary test.
    conformance: str | None = None


class RunMeta(BaseModel):
    """Where and when the results were produced."""

    started_at: float = Field(default_factory=time.time)
    finished_at: float | None = None
    python: str = Field(default_factory=lambda: sys.version.split()[0])
    platform: str = Field(default_factory=platform.platform)
    command: list[str] = Field(default_factory=lambda: list(sys.argv))
    config: str = ""
    mode: str = ""  # live, replay, record, mocked, mixed


class Results(BaseModel):
    """Everything a report shows. `schema_version` changes when the JSON shape does."""

    schema_version: int = SCHEMA_VERSION
    meta: RunMeta = Field(default_factory=RunMeta)
    runs: list[RunStats] = Field(default_factory=list)
    outcomes: list[TestOutcome] = Field(default_factory=list)
    drift: list[DriftComparison] = Field(default_factory=list)  # --llm-drift comparisons
