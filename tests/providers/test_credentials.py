"""Each codec says what credentials its provider needs and whether they are set, in one wording."""

from __future__ import annotations

import pytest
from factories import make_provider

from pytest_llmbench import errors
from pytest_llmbench.providers import codec_for

KEY_KINDS = ["openai", "openai-responses", "anthropic", "gemini"]


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_a_key_provider_names_its_variable_when_it_is_not_set(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LLMBENCH_TEST_KEY", raising=False)
    status = codec_for(kind).credentials(make_provider(kind))
    assert status.names == ("LLMBENCH_TEST_KEY",)
    assert not status.present
    assert status.missing == "LLMBENCH_TEST_KEY is not set"
    assert status.state == "LLMBENCH_TEST_KEY is not set"
    assert status.fix == "set LLMBENCH_TEST_KEY in the environment"


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_a_set_key_is_present_and_its_value_is_not_shown(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMBENCH_TEST_KEY", "canary-credential-value")
    status = codec_for(kind).credentials(make_provider(kind))
    assert status.present
    assert status.missing is None
    assert status.state == "LLMBENCH_TEST_KEY: set"
    assert "canary-credential-value" not in repr(status)


def test_an_empty_variable_counts_as_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMBENCH_TEST_KEY", "")
    assert not codec_for("openai").credentials(make_provider("openai")).present


def test_a_provider_without_a_key_variable_needs_nothing() -> None:
    status = codec_for("openai").credentials(make_provider("openai", api_key_env=None))
    assert status.names == ()
    assert status.present
    assert status.state == "no key needed"


def test_the_error_for_missing_credentials_carries_the_message_and_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LLMBENCH_TEST_KEY", raising=False)
    status = codec_for("anthropic").credentials(make_provider("anthropic"))
    error = status.error("anthropic")
    assert isinstance(error, errors.AuthenticationError)
    assert error.message == "LLMBENCH_TEST_KEY is not set"
    assert error.hint == "set LLMBENCH_TEST_KEY in the environment"
    assert error.provider == "anthropic"
