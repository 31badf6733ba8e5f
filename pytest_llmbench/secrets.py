"""Keeping credential values out of everything we print, log, raise or write.

Credentials are registered by name when a provider reads them; `redact` then replaces every
registered value (and anything shaped like a well-known key) in a text.
"""

from __future__ import annotations

import os
import re
import threading
import warnings

_KEY_SHAPES = re.compile(
    r"sk-(?:proj-|ant-(?:api\d\d-)?)?[A-Za-z0-9_-]{20,}"
    r"|AIza[0-9A-Za-z_-]{30,}"
    r"|AKIA[0-9A-Z]{16}"
    r"|gsk_[A-Za-z0-9]{20,}"
)
_MIN_SECRET_LENGTH = 6  # shorter values would redact ordinary words

MIN_SECRET_LENGTH = _MIN_SECRET_LENGTH

_lock = threading.Lock()
_values: dict[str, str] = {}
_short: dict[str, int] = {}  # credentials too short to redact: name -> length


class ShortCredentialWarning(UserWarning):
    """A configured credential is too short to be kept out of output; recording is refused."""


def register(name: str, value: str | None) -> None:
    """Remember a credential value so that `redact` removes it everywhere.

    A value shorter than MIN_SECRET_LENGTH cannot be redacted without mangling ordinary words:
    it is remembered as too short (cassettes then refuse to record) and warned about once.
    """
    if not value:
        return
    if len(value) >= _MIN_SECRET_LENGTH:
        with _lock:
            _values[name] = value
        return
    with _lock:
        first = name not in _short
        _short[name] = len(value)
    if first:
        warnings.warn(
            short_credential_problem(name, len(value)), ShortCredentialWarning, stacklevel=2
        )


def short_credential_problem(name: str, length: int) -> str:
    """What is wrong with a credential of `length` characters, and what to do."""
    return (
        f"{name} holds a value of {length} characters, too short to keep out of errors, "
        f"reports and cassettes (that needs at least {_MIN_SECRET_LENGTH}); recording "
        f"cassettes is refused while it is set: use the real key, or a dummy value of "
        f"{_MIN_SECRET_LENGTH} or more characters for servers that ignore it"
    )


def too_short() -> dict[str, int]:
    """The registered credentials too short to redact, by name, with their lengths."""
    with _lock:
        return dict(_short)


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
