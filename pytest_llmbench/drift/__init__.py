"""Drift detection: does a live response still have the shape of the recorded one?

`response_shape` reads a response's event names, JSON field paths and types, and allowlisted
header names; `compare_shapes` lists what was added, removed or retyped. Both are sans-I/O and
usable without pytest. `DriftTransport` (in `pytest_llmbench.drift.transport`) pairs live
responses with a cassette's recordings for `--llm-drift`.
"""

from __future__ import annotations

from pytest_llmbench.drift.compare import (
    CHANGE_KINDS,
    ChangeKind,
    DriftChange,
    DriftComparison,
    compare_shapes,
)
from pytest_llmbench.drift.shape import Shape, response_shape

__all__ = [
    "CHANGE_KINDS",
    "ChangeKind",
    "DriftChange",
    "DriftComparison",
    "Shape",
    "compare_shapes",
    "response_shape",
]
