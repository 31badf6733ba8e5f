"""`llmbench validate`: models.toml checked, then one minimal request per provider."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from pytest_llmbench import errors, secrets
from pytest_llmbench.cli.answer import format_ms
from pytest_llmbench.cli.context import (
    CliState,
    ConfigOption,
    VerboseOption,
    client_for,
    command_state,
    load_config_option,
)
from pytest_llmbench.cli.exits import (
    EXIT_AUTHENTICATION,
    EXIT_OK,
    exit_code_for,
    interrupted_exit,
)
from pytest_llmbench.cli.targets import usage_errors
from pytest_llmbench.config import ProviderConfig
from pytest_llmbench.providers import codec_for
from pytest_llmbench.selection import Target, provider_named


@dataclass
class _Check:
    provider: ProviderConfig
    outcome: str  # ok, failed, skipped
    detail: str
    code: int = EXIT_OK


async def _check(state: CliState, provider: ProviderConfig) -> _Check:
    missing = codec_for(provider.kind).credentials(provider).missing
    if missing:
        return _Check(provider, "skipped", missing, EXIT_AUTHENTICATION)
    target = Target(provider, provider.model())
    try:
        async with client_for(state, target) as client:
            completion = await client.validate()
    except errors.ProviderError as error:
        return _Check(provider, "failed", str(error), exit_code_for(error))
    metrics = completion.metrics
    return _Check(provider, "ok", f"{target.id} answered in {format_ms(metrics.e2e_ms)}")


def validate(
    ctx: typer.Context,
    provider: Annotated[
        str | None,
        typer.Argument(metavar="PROVIDER", help="check only this provider", show_default="all"),
    ] = None,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> int:
    """Check models.toml, then send one minimal request per provider whose credentials are set."""
    state = command_state(ctx, verbose)
    loaded = load_config_option(config)
    model_count = sum(len(p.models) for p in loaded.providers.values())
    sys.stdout.write(
        f"config ok: {loaded.path} ({len(loaded.providers)} providers, {model_count} models)\n"
    )
    if provider is not None:
        with usage_errors():
            providers = [provider_named(loaded, provider, "PROVIDER")]
    else:
        providers = list(loaded.providers.values())

    async def check_all() -> list[_Check]:
        return list(await asyncio.gather(*(_check(state, p) for p in providers)))

    try:
        checks = asyncio.run(check_all())
    except KeyboardInterrupt:
        raise interrupted_exit() from None
    width = max(len(c.provider.name) for c in checks)
    console = Console(highlight=False)
    colours = {"ok": "green", "failed": "red", "skipped": "yellow"}
    for check in checks:
        line = Text(f"{check.provider.name:<{width}}  ")
        line.append(f"{check.outcome:<7}", style=colours[check.outcome])
        line.append(f"  {secrets.redact(check.detail)}")
        console.print(line, soft_wrap=True)
    failed = [c for c in checks if c.outcome == "failed"]
    if failed:
        return failed[0].code
    if provider is not None and checks[0].outcome == "skipped":
        return checks[0].code  # the one provider asked for could not be checked
    return EXIT_OK
