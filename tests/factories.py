"""Builders of configuration objects for this repository's tests."""

from __future__ import annotations

from typing import Any

from pytest_llmbench.config import ModelConfig, ProviderConfig

BASE_URLS = {
    "openai": "https://api.openai.com/v1",
    "openai-responses": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "gemini": "https://generativelanguage.googleapis.com/v1beta",
    "bedrock": "https://bedrock-runtime.{region}.amazonaws.com",
}


def make_model(**fields: Any) -> ModelConfig:
    """A cheap ModelConfig for tests; any field can be overridden."""
    values: dict[str, Any] = {
        "id": "test-model",
        "context_window": 8192,
        "max_output_tokens": 1024,
        "input_per_mtok": 1.0,
        "output_per_mtok": 2.0,
        "default": True,
        **fields,
    }
    return ModelConfig(**values)


def make_provider(
    kind: str = "openai",
    name: str | None = None,
    *,
    model: ModelConfig | None = None,
    **fields: Any,
) -> ProviderConfig:
    """A ProviderConfig with one cheap model (or `model`), for tests; any field can be
    overridden."""
    model = model or make_model(id=fields.pop("model_id", "test-model"))
    values: dict[str, Any] = {
        "name": name or kind,
        "kind": kind,
        "base_url": BASE_URLS[kind],
        "api_key_env": "LLMBENCH_TEST_KEY",
        "max_retries": 2,
        "models": (model,),
        **fields,
    }
    return ProviderConfig(**values)
