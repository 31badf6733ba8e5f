"""Repository-wide test setup. The plugin itself loads through its pytest11 entry point."""

from __future__ import annotations

# Plugin tests run real pytest sessions in temporary directories.
pytest_plugins = ["pytester"]
