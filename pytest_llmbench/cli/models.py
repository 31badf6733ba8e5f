"""`llmbench models`: the providers and models of models.toml."""

from __future__ import annotations

import sys

import typer

from pytest_llmbench.catalog import catalog_lines
from pytest_llmbench.cli.context import ConfigOption, command_state, load_config_option


def models(ctx: typer.Context, config: ConfigOption = None) -> None:
    """List the providers and models of models.toml (as `pytest --llm-list` does)."""
    command_state(ctx)
    loaded = load_config_option(config)
    sys.stdout.write("\n".join(catalog_lines(loaded)) + "\n")
