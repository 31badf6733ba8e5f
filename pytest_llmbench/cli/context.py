"""What every command shares: the state in the click context, --config and --verbose, clients."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

from pytest_llmbench.client import LLMClient
from pytest_llmbench.config import Config, ConfigError, ProviderConfig, load_config
from pytest_llmbench.providers import codec_for
from pytest_llmbench.selection import Target

CONFIG_ENV = "LLMBENCH_CONFIG"
DEFAULT_CONFIG = "models.toml"

TransportFactory = Callable[[ProviderConfig], httpx.AsyncBaseTransport]


@dataclass
class CliState:
    """What every command gets through the click context: the injected transport, verbosity."""

    transport: TransportFactory | None = None
    argv: list[str] = field(default_factory=list)
    verbose: bool = False
    log_handler: logging.Handler | None = None

    def close(self) -> None:
        """Undo what the command set up for itself (the --verbose log handler)."""
        if self.log_handler is not None:
            logger = logging.getLogger("pytest_llmbench")
            logger.removeHandler(self.log_handler)
            logger.setLevel(logging.NOTSET)
            self.log_handler = None


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="models.toml to use",
        show_default=f"${CONFIG_ENV}, else ./{DEFAULT_CONFIG}",
        dir_okay=False,
    ),
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="log to stderr; show tracebacks of errors")
]


def command_state(ctx: typer.Context, verbose: bool = False) -> CliState:
    """The state of this command; with --verbose, pytest_llmbench logs to stderr."""
    state = ctx.obj if isinstance(ctx.obj, CliState) else CliState()
    state.verbose = verbose
    if verbose and state.log_handler is None:
        from rich.logging import RichHandler

        state.log_handler = RichHandler(console=Console(stderr=True), show_path=False)
        logger = logging.getLogger("pytest_llmbench")
        logger.addHandler(state.log_handler)
        logger.setLevel(logging.DEBUG)
    return state


def config_path(option: Path | None) -> Path:
    """--config, else $LLMBENCH_CONFIG, else models.toml in the current directory."""
    if option is not None:
        return option
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env)
    return Path.cwd() / DEFAULT_CONFIG


def load_config_option(option: Path | None) -> Config:
    """The models.toml that --config names (see config_path), loaded and checked."""
    path = config_path(option)
    if not path.exists():
        raise ConfigError(
            path,
            [
                "file not found; create it, pass --config PATH "
                f"or set {CONFIG_ENV} (see `llmbench models`)"
            ],
        )
    return load_config(path)


def client_for(state: CliState, target: Target) -> LLMClient:
    """A client of the target, over the injected transport when there is one."""
    transport = state.transport(target.provider) if state.transport is not None else None
    return LLMClient(target.provider, target.model, transport=transport)


def require_credentials(provider: ProviderConfig) -> None:
    """Raise AuthenticationError, before any request, when the provider's key is not set."""
    credentials = codec_for(provider.kind).credentials(provider)
    if not credentials.present:
        error = credentials.error(provider.name)
        error.hint = f"{error.hint}, or pick another provider (llmbench models)"
        raise error
