"""The models.toml listing shown by `pytest --llm-list` and `llmbench models`."""

from __future__ import annotations

from pytest_llmbench.config import ALL_CAPABILITIES, Config
from pytest_llmbench.providers import codec_for


def catalog_lines(config: Config) -> list[str]:
    """Providers and models with prices, capabilities and whether credentials are set.

    Only the name of a credential variable is shown, never its value.
    """
    lines = [f"llmbench providers in {config.path}:"]
    for provider in config.providers.values():
        state = codec_for(provider.kind).credentials(provider).state
        lines.append("")
        lines.append(f"{provider.name} [{provider.kind}] {provider.base_url}  ({state})")
        for model in provider.models:
            caps = ",".join(c for c in ALL_CAPABILITIES if model.supports(c)) or "-"
            default = " (default)" if model in provider.default_models() else ""
            lines.append(
                f"    {provider.name}:{model.id}{default}  context {model.context_window:,}"
                f"  {model.price_label}{' in/out' if model.priced else ''}  [{caps}]"
            )
    return lines
