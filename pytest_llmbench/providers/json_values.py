"""Reading fields of untrusted JSON: the value when it has the expected type, else a default.

One meaning each, for every codec: a count of `true` is no count (bool is an int in Python).
"""

from __future__ import annotations

from typing import Any, overload


@overload
def as_int(value: Any) -> int | None: ...


@overload
def as_int(value: Any, default: int) -> int: ...


def as_int(value: Any, default: int | None = None) -> int | None:
    """A JSON integer (a token count, an index), else `default` (None unless given)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    return value


def as_str(value: Any) -> str:
    """A JSON string, else ""."""
    return value if isinstance(value, str) else ""


def as_dict(value: Any) -> dict[str, Any]:
    """A JSON object, else {}."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """A JSON array, else []."""
    return value if isinstance(value, list) else []
