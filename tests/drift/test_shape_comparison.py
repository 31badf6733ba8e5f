"""Comparing a live shape with the recorded one: added, removed, retyped."""

from __future__ import annotations

import json
from typing import Any

from pytest_llmbench.drift import DriftChange, compare_shapes, response_shape
from pytest_llmbench.drift.shape import Shape

JSON = {"content-type": "application/json"}


def shape(data: Any, headers: dict[str, str] | None = None, status: int = 200) -> Shape:
    return response_shape(status, {**JSON, **(headers or {})}, json.dumps(data).encode())


def described(changes: list[DriftChange]) -> list[str]:
    return [change.describe() for change in changes]


def test_same_shape_with_other_values_has_no_changes() -> None:
    assert compare_shapes(shape({"a": "x", "n": [1, 2]}), shape({"a": "y", "n": [3]})) == []


def test_a_field_only_live_has_is_added_and_one_only_recorded_has_is_removed() -> None:
    changes = compare_shapes(shape({"a": 1, "old": "x"}), shape({"a": 1, "new": True}))
    assert described(changes) == [
        "added field body: new (boolean)",
        "removed field body: old (string)",
    ]


def test_a_field_whose_type_changed_is_retyped() -> None:
    (change,) = compare_shapes(shape({"n": 1}), shape({"n": "1"}))
    assert (change.kind, change.path, change.recorded, change.live) == (
        "retyped",
        "n",
        ["number"],
        ["string"],
    )


def test_null_on_one_side_is_not_a_retyping() -> None:
    assert compare_shapes(shape({"n": None}), shape({"n": "x"})) == []


def test_only_the_outermost_missing_field_is_listed() -> None:
    changes = compare_shapes(shape({"usage": {"a": 1, "b": {"c": 2}}}), shape({}))
    assert described(changes) == ["removed field body: usage (object)"]


def test_new_items_inside_an_array_are_listed_by_their_bracket_path() -> None:
    changes = compare_shapes(shape({"c": [{"a": 1}]}), shape({"c": [{"a": 1, "b": 2}]}))
    assert described(changes) == ["added field body: c[].b (number)"]


def test_allowlisted_headers_added_and_removed() -> None:
    recorded = shape({}, {"x-ratelimit-limit-requests": "5"})
    live = shape({}, {"retry-after": "1"})
    assert described(compare_shapes(recorded, live)) == [
        "removed header x-ratelimit-limit-requests",
        "added header retry-after",
    ]


def test_event_names_added_and_removed() -> None:
    sse = {"content-type": "text/event-stream"}
    recorded = response_shape(200, sse, b"event: ping\ndata: {}\n\nevent: a\ndata: {}\n\n")
    live = response_shape(200, sse, b"event: a\ndata: {}\n\nevent: b\ndata: {}\n\n")
    assert described(compare_shapes(recorded, live)) == ["removed event ping", "added event b"]


def test_a_different_status_is_reported_first() -> None:
    changes = compare_shapes(shape({}), shape({}, status=400))
    assert described(changes)[0] == "status 200 -> 400"
