"""The shared readers of untrusted JSON fields: one meaning each, a default where asked."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_llmbench.providers.json_values import as_dict, as_int, as_list, as_str


@pytest.mark.parametrize("value", [True, False, 1.0, "3", None, [], {}])
def test_as_int_takes_only_json_integers(value: Any) -> None:
    assert as_int(value) is None
    assert as_int(value, 0) == 0


def test_as_int_keeps_an_integer_whatever_the_default() -> None:
    assert as_int(7) == 7
    assert as_int(0, 5) == 0


@pytest.mark.parametrize(
    ("read", "good", "empty"),
    [(as_str, "text", ""), (as_dict, {"a": 1}, {}), (as_list, [1], [])],
)
def test_readers_keep_their_type_and_give_the_empty_value_otherwise(
    read: Any, good: Any, empty: Any
) -> None:
    assert read(good) == good
    wrong: object
    for wrong in (None, 1, True, "x" if good != "text" else 1.5, [] if good != [1] else {}):
        assert read(wrong) == empty
