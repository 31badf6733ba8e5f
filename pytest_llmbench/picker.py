"""The arrow-key picker, kept importable here; it lives with the command in `cli/picker.py`."""

from __future__ import annotations

from pytest_llmbench.cli.picker import Picker, interactive, parse_keys, pick

__all__ = ["Picker", "interactive", "parse_keys", "pick"]
