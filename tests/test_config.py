"""models.toml loading: the shipped file is valid; every kind of bad input names file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_llmbench.config import ConfigError, load_config
from pytest_llmbench.providers import codec_for

ROOT = Path(__file__).resolve().parent.parent

GOOD = """
[providers.openai]
kind = "openai"
base_url = "https://api.openai.com/v1"
api_key_env = "OPENAI_API_KEY"

[[providers.openai.models]]
id = "small"
context_window = 128000
input_per_mtok = 0.15
output_per_mtok = 0.6

[[providers.openai.models]]
id = "big"
context_window = 128000
input_per_mtok = 2.5
output_per_mtok = 10
capabilities = ["streaming", "tools"]
default = true
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return str(info.value)


def test_shipped_models_toml_is_valid() -> None:
    config = load_config(ROOT / "models.toml")
    assert {"openai", "anthropic", "gemini", "bedrock", "groq", "local"} <= set(config.providers)
    for provider in config.providers.values():
        assert provider.model().id


def test_loads_providers_models_and_names_them(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    openai = config.provider("openai")
    assert openai.name == "openai"
    assert [m.id for m in openai.models] == ["small", "big"]
    assert openai.model().id == "big"  # the default one
    assert openai.model("small").input_per_mtok == 0.15
    assert openai.model("big").supports("tools")
    assert not openai.model("small").supports("tools")


def test_first_model_is_default_when_none_is_marked(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD.replace("default = true", "")))
    assert config.provider("openai").model().id == "small"


def test_unknown_key_names_path_and_known_keys(tmp_path: Path) -> None:
    message = problems(tmp_path, GOOD.replace('id = "big"', 'id = "big"\ncolour = 1'))
    assert str(tmp_path / "models.toml") in message
    assert "providers.openai.models[1].colour: unknown key" in message
    assert "input_per_mtok" in message  # lists what is allowed


def test_wrong_type_says_found_and_expected(tmp_path: Path) -> None:
    text = GOOD.replace("input_per_mtok = 2.5", 'input_per_mtok = "cheap"')
    message = problems(tmp_path, text)
    assert "providers.openai.models[1].input_per_mtok: found 'cheap'; expected a valid number" in (
        message
    )


def test_missing_field_is_named(tmp_path: Path) -> None:
    message = problems(tmp_path, GOOD.replace("context_window = 128000\n", "", 1))
    assert "providers.openai.models[0].context_window: missing" in message


def test_unknown_kind_lists_the_known_kinds(tmp_path: Path) -> None:
    message = problems(tmp_path, GOOD.replace('kind = "openai"', 'kind = "cohere"'))
    assert "providers.openai.kind: found 'cohere'" in message
    assert "'anthropic'" in message and "'bedrock'" in message


def test_duplicate_model_is_rejected(tmp_path: Path) -> None:
    message = problems(tmp_path, GOOD.replace('id = "big"', 'id = "small"'))
    assert "providers.openai.models[1].id: duplicate model 'small'" in message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace('kind = "openai"', 'kind = "x"').replace("input_per_mtok = 2.5", "")
    message = problems(tmp_path, text)
    assert "kind" in message and "input_per_mtok: missing" in message


def test_unknown_capability_is_rejected(tmp_path: Path) -> None:
    message = problems(tmp_path, GOOD.replace('"tools"]', '"telepathy"]'))
    assert "providers.openai.models[1].capabilities[1]: found 'telepathy'" in message


def test_invalid_toml_names_line(tmp_path: Path) -> None:
    message = problems(tmp_path, GOOD + "\n[providers.openai\n")
    assert "not valid TOML" in message and "line" in message


def test_missing_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found; create it or pass --llm-config"):
        load_config(tmp_path / "nope.toml")


def test_negative_price_is_rejected(tmp_path: Path) -> None:
    message = problems(tmp_path, GOOD.replace("output_per_mtok = 10", "output_per_mtok = -1"))
    assert "providers.openai.models[1].output_per_mtok: found -1" in message


def test_unknown_provider_lookup_lists_known(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    with pytest.raises(KeyError, match="known: openai"):
        config.provider("nope")
    with pytest.raises(KeyError, match="known: small, big"):
        config.provider("openai").model("nope")


def test_missing_credentials_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = load_config(write(tmp_path, GOOD)).provider("openai")
    credentials = codec_for(provider.kind).credentials
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert credentials(provider).missing == "OPENAI_API_KEY is not set"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-test-value")
    assert credentials(provider).missing is None
    assert provider.api_key() == "sk-local-test-value"


def test_prices_are_optional(tmp_path: Path) -> None:
    text = GOOD.replace("input_per_mtok = 0.15\noutput_per_mtok = 0.6\n", "")
    model = load_config(write(tmp_path, text)).provider("openai").model("small")
    assert model.input_per_mtok is None and model.output_per_mtok is None
    assert not model.priced
    assert model.price_label == "no prices"


def test_one_price_without_the_other_is_rejected(tmp_path: Path) -> None:
    message = problems(tmp_path, GOOD.replace("output_per_mtok = 0.6\n", "", 1))
    assert "providers.openai.models[0].output_per_mtok: missing; input_per_mtok is set" in message


def test_a_model_error_is_reported_once_without_a_list_length_line(tmp_path: Path) -> None:
    only_model = GOOD[: GOOD.index('[[providers.openai.models]]\nid = "big"')]
    message = problems(
        tmp_path, only_model.replace("context_window = 128000", "context_window = 0")
    )
    assert message.splitlines()[1:] == [
        "  providers.openai.models[0].context_window: found 0; expected greater than 0"
    ]


def test_an_empty_model_list_says_an_entry_is_required(tmp_path: Path) -> None:
    text = '[providers.x]\nkind = "openai"\nbase_url = "http://h/v1"\nmodels = []\n'
    message = problems(tmp_path, text)
    assert message.splitlines()[1:] == [
        "  providers.x.models: empty; at least one entry is required"
    ]
