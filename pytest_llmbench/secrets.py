"""Keeping credential values out of everything we print, log, raise or write.

Credentials are registered by name when a provider reads them; `redact` then replaces every
registered value (and anything shaped like a well-known key) in a text.
"""

from __future__ import annotations

import os
import re
import threading

_KEY_SHAPES = re.compile(
    r"sk-(?:proj-|ant-(?:api\d\d-)?)?[A-Za-z0-9_-]{20,}"
    r"|AIza[0-9A-Za-z_-]{30,}"
    r"|AKIA[0-9A-Z]{16}"
    r"|gsk_[A-Za-z0-9]{20,}"
)
_MIN_SECRET_LENGTH = 6  # shorter values would redact ordinary words

_lock = threading.Lock()
_values: dict[str, str] = {}


def register(name: str, value: str | None) -> None:
    """Remember a credential value so that `redact` removes it everywhere."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        with _lock:
            _values[name] = value


def register_from_env(*names: str) -> None:
    """Register the values of the given environment variables that are set."""
    for name in names:
        register(name, os.environ.get(name))


def known_values() -> dict[str, str]:
    """The registered credentials, by name (for the cassette writer's last check)."""
    with _lock:
        return dict(_values)


def redact(text: str) -> str:
    """`text` with every registered credential and key-shaped string replaced by a marker."""
    for name, value in known_values().items():
        if value in text:
            text = text.replace(value, f"<{name}>")
    return _KEY_SHAPES.sub("<redacted>", text)


def find(text: str) -> str | None:
    """The name of a registered credential whose value occurs in `text`, if any."""
    for name, value in known_values().items():
        if value in text:
            return name
    return None
