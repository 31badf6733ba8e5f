"""Exit codes of `llmbench`, the error each one stands for, and how errors reach stderr."""

from __future__ import annotations

import sys

import typer

from pytest_llmbench import errors, secrets
from pytest_llmbench.config import ConfigError
from pytest_llmbench.prompts import PromptFileError

try:  # recent typer releases vendor click as typer._click; older ones depend on click
    from typer._click.exceptions import ClickException, UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import (  # type: ignore[import-not-found, no-redef, assignment, unused-ignore]
        ClickException,
        UsageError,
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
    "ClickException",
    "UsageError",
    "exit_code_for",
    "exit_code_for_name",
    "interrupted_exit",
    "print_error",
    "say_interrupted",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_RATE_LIMITED = 2
EXIT_CONTEXT_LENGTH = 3
EXIT_AUTHENTICATION = 4
EXIT_USAGE = 64  # EX_USAGE from sysexits.h; click's own usage errors (2) are remapped to it
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM

_EXIT_CODES: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], int], ...] = (
    ((UsageError, ConfigError, PromptFileError), EXIT_USAGE),
    (errors.UnsupportedParameterError, EXIT_USAGE),  # an option the wire format has no place for
    (errors.RateLimitError, EXIT_RATE_LIMITED),
    (errors.ContextLengthExceededError, EXIT_CONTEXT_LENGTH),
    ((errors.AuthenticationError, errors.PermissionDeniedError), EXIT_AUTHENTICATION),
    (KeyboardInterrupt, EXIT_INTERRUPTED),
)


def exit_code_for(error: BaseException | type[BaseException]) -> int:
    """The exit code an error (or error class) ends the command with."""
    kind = error if isinstance(error, type) else type(error)
    return next((code for classes, code in _EXIT_CODES if issubclass(kind, classes)), EXIT_ERROR)


def exit_code_for_name(name: str) -> int:
    """The exit code of a ProviderError class named in RequestMetrics.error."""
    kind = getattr(errors, name, None)
    return exit_code_for(kind) if isinstance(kind, type) else EXIT_ERROR


def print_error(message: str) -> None:
    """One message on stderr, keys redacted."""
    sys.stderr.write(secrets.redact(message).rstrip("\n") + "\n")
    sys.stderr.flush()


def say_interrupted() -> None:
    """The line that ends a run stopped by Ctrl-C."""
    print_error("\ninterrupted")


def interrupted_exit() -> typer.Exit:
    """The exit of a command stopped by Ctrl-C (typer would exit 130 silently)."""
    say_interrupted()
    return typer.Exit(EXIT_INTERRUPTED)
