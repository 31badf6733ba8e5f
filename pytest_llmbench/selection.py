"""Which providers and models a run (and a test) covers: options, the `llm` marker, capabilities.

Plain functions over Config, so the CLI and the plugin select the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pytest_llmbench.config import Config, ModelConfig, ProviderConfig


class SelectionError(ValueError):
    """A provider or model named on the command line does not exist in models.toml."""


@dataclass(frozen=True)
class Target:
    """One provider and one of its models: what a parametrized test runs against."""

    provider: ProviderConfig
    model: ModelConfig

    @property
    def id(self) -> str:
        return f"{self.provider.name}:{self.model.id}"

    def missing_capabilities(self, needs: Iterable[str]) -> list[str]:
        return [need for need in needs if not self.model.supports(need)]


def split_names(values: Iterable[str] | None) -> list[str]:
    """Repeatable, comma-separated option values as one flat list."""
    names: list[str] = []
    for value in values or []:
        names += [part.strip() for part in value.split(",") if part.strip()]
    return names


def split_target(value: str) -> tuple[str, str | None]:
    """`PROVIDER` or `PROVIDER:MODEL` as (provider, model or None).

    The first colon separates the provider: model ids may hold colons (Ollama's "llama3:8b").
    """
    name, sep, model = value.partition(":")
    return name, (model if sep and model else None)


def provider_named(config: Config, name: str, option: str) -> ProviderConfig:
    """The provider called `name`; a SelectionError naming `option` and the known ones if none."""
    if name not in config.providers:
        known = ", ".join(config.providers) or "none"
        raise SelectionError(
            f"{option}: unknown provider {name!r}; providers in {config.path}: {known}"
        )
    return config.providers[name]


def model_named(provider: ProviderConfig, model_id: str | None, option: str) -> ModelConfig:
    """The provider's model `model_id` (None: its default); a SelectionError naming `option`."""
    try:
        return provider.model(model_id)
    except KeyError:
        known = ", ".join(m.id for m in provider.models)
        raise SelectionError(
            f"{option}: provider {provider.name!r} has no model {model_id!r}; its models: {known}"
        ) from None


def parse_targets(config: Config, values: Iterable[str], option: str) -> list[Target]:
    """Targets from `PROVIDER` or `PROVIDER:MODEL` values (repeatable, comma-separated), in order.

    A provider without a model stands for its default models.
    """
    targets: list[Target] = []
    for value in split_names(values):
        name, model_id = split_target(value)
        provider = provider_named(config, name, option)
        if model_id is None:
            targets += [Target(provider, m) for m in provider.default_models()]
        else:
            targets.append(Target(provider, model_named(provider, model_id, option)))
    return targets


def select_providers(config: Config, names: Sequence[str]) -> list[ProviderConfig]:
    """The named providers (all when none are named), in the order given."""
    if not names:
        return list(config.providers.values())
    unknown = [name for name in names if name not in config.providers]
    if unknown:
        known = ", ".join(config.providers)
        raise SelectionError(
            f"--llm-provider {', '.join(unknown)}: not in {config.path}; known providers: {known}"
        )
    return [config.providers[name] for name in dict.fromkeys(names)]


def select_targets(
    config: Config,
    providers: Sequence[str] = (),
    models: Sequence[str] = (),
) -> list[Target]:
    """Provider x model pairs for the run. `models` entries are `ID` or `PROVIDER:ID`.

    Without `models`, each provider's default models are used.
    """
    chosen = select_providers(config, providers)
    targets: list[Target] = []
    matched: set[str] = set()
    for provider in chosen:
        if not models:
            targets += [Target(provider, model) for model in provider.default_models()]
            continue
        for model in provider.models:
            for wanted in models:
                if wanted in (model.id, f"{provider.name}:{model.id}"):
                    targets.append(Target(provider, model))
                    matched.add(wanted)
                    break
    unmatched = [wanted for wanted in models if wanted not in matched]
    if unmatched:
        known = ", ".join(f"{p.name}:{m.id}" for p in chosen for m in p.models)
        raise SelectionError(
            f"--llm-model {', '.join(unmatched)}: no selected provider has it; known: {known}"
        )
    return targets


def restrict(
    run_targets: Sequence[Target],
    config: Config,
    providers: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
) -> list[Target]:
    """A test's targets under `@pytest.mark.llm(providers=..., models=...)`.

    `providers` keeps only those of the run's providers; `models` names models (of the run's
    providers) to use instead of the defaults.
    """
    targets = list(run_targets)
    if providers is not None:
        targets = [t for t in targets if t.provider.name in providers]
    if models is None:
        return targets
    run_providers = list(dict.fromkeys(t.provider.name for t in targets))
    out: list[Target] = []
    for name in run_providers:
        provider = config.providers[name]
        out += [
            Target(provider, model)
            for model in provider.models
            if model.id in models or f"{name}:{model.id}" in models
        ]
    return out
