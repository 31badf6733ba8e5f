"""Which provider and model a command runs against: named on the command line, or picked."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from pytest_llmbench.cli.exits import UsageError, interrupted_exit
from pytest_llmbench.cli.picker import interactive, pick
from pytest_llmbench.config import Config, ModelConfig, ProviderConfig
from pytest_llmbench.providers import codec_for
from pytest_llmbench.selection import SelectionError, Target, model_named, provider_named


@contextlib.contextmanager
def usage_errors() -> Iterator[None]:
    """A provider or model that models.toml does not hold is a usage error of the command."""
    try:
        yield
    except SelectionError as error:
        raise UsageError(str(error)) from None


def _provider_label(provider: ProviderConfig) -> str:
    state = codec_for(provider.kind).credentials(provider).missing or "ready"
    models = ", ".join(m.id for m in provider.models)
    return f"{provider.name}  [{provider.kind}]  {models}  ({state})"


def _model_label(provider: ProviderConfig, model: ModelConfig) -> str:
    default = " (default)" if model in provider.default_models() else ""
    return f"{model.id}{default}  {model.price_label}"


def choose_target(
    config: Config,
    provider_name: str | None,
    model_id: str | None,
    *,
    param: str,
) -> Target:
    """The provider (and model) to use; asked for on a terminal when the provider is missing."""
    if provider_name is not None:
        with usage_errors():
            provider = provider_named(config, provider_name, param)
            return Target(provider, model_named(provider, model_id, "--model"))
    names = list(config.providers)
    if not interactive():
        raise UsageError(
            f"missing {param}; choose one of: {', '.join(names)} "
            f"(from {config.path}; on a terminal you are asked)"
        )
    providers = list(config.providers.values())
    try:
        chosen = pick("Choose a provider", [_provider_label(p) for p in providers])
        provider = providers[chosen]
        print(f"provider: {provider.name}")
        if model_id is None and len(provider.models) > 1:
            default = provider.models.index(provider.model())
            labels = [_model_label(provider, m) for m in provider.models]
            model = provider.models[pick(f"Choose a model of {provider.name}", labels, default)]
            print(f"model: {model.id}")
            return Target(provider, model)
    except KeyboardInterrupt:
        raise interrupted_exit() from None
    with usage_errors():
        return Target(provider, model_named(provider, model_id, "--model"))
