"""The `llmbench` command: one prompt against one model, a load run to CSV, the catalogue, checks.

A thin front end over the same client, load runner and reports as the pytest plugin. `main`
maps every outcome to an exit code (EXIT_*) and prints errors with a hint, never a traceback
(unless --verbose) and never a key. Tests pass `transport` to run the commands against a mock.
One module a command (models, one_prompt for `test`, run, validate), under `app`.
"""

from __future__ import annotations

from pytest_llmbench.cli.app import app, main
from pytest_llmbench.cli.exits import (
    EXIT_AUTHENTICATION,
    EXIT_CONTEXT_LENGTH,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_RATE_LIMITED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    exit_code_for,
)

__all__ = [
    "EXIT_AUTHENTICATION",
    "EXIT_CONTEXT_LENGTH",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_RATE_LIMITED",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "app",
    "exit_code_for",
    "main",
]
