"""Conformance checks on failures: each provider error maps to the same taxonomy class."""

from __future__ import annotations

import pytest

from pytest_llmbench.client import LLMClient
from pytest_llmbench.config import ModelConfig, ProviderConfig
from pytest_llmbench.conformance.check import ask, check, small_window, with_credentials
from pytest_llmbench.errors import (
    AuthenticationError,
    ContextLengthExceededError,
    InvalidRequestError,
    ModelNotFoundError,
)
from pytest_llmbench.types import Request

__all__ = [
    "test_bad_key_is_an_authentication_error",
    "test_context_length_exceeded_is_reported",
    "test_context_overflow_error_is_not_retryable",
    "test_malformed_request_is_an_invalid_request_error",
    "test_rate_limit_headers_are_readable",
    "test_unknown_model_is_model_not_found",
]

# The body field holding the conversation in each wire format.
MESSAGES_FIELD = {
    "openai": "messages",
    "anthropic": "messages",
    "bedrock": "messages",
    "openai-responses": "input",
    "gemini": "contents",
}
# Not shaped like any provider's key format, so no redaction rule or scanner mistakes it.
WRONG_KEY = "llmbench-conformance-wrong-key"


def _overflowing(llm: LLMClient) -> Request:
    window = llm.model.context_window
    # A word a token at the least: twice the window is well past it.
    return Request(messages=[{"role": "user", "content": "overflow " * (window * 2)}], max_tokens=4)


@check("errors", record_errors=True, applies=small_window)
async def test_context_length_exceeded_is_reported(llm: LLMClient) -> None:
    with pytest.raises(ContextLengthExceededError):
        await llm.complete(_overflowing(llm))


@check("errors", record_errors=True, applies=small_window)
async def test_context_overflow_error_is_not_retryable(llm: LLMClient) -> None:
    with pytest.raises(ContextLengthExceededError) as caught:
        await llm.complete(_overflowing(llm))
    error = caught.value
    assert error.status is not None and 400 <= error.status < 500, f"HTTP {error.status}"
    assert not error.retryable
    assert error.provider == llm.provider.name
    assert error.message.strip(), "the error carries no message"


@check("errors", record_errors=True)
async def test_malformed_request_is_an_invalid_request_error(llm: LLMClient) -> None:
    field = MESSAGES_FIELD.get(llm.provider.kind)
    if field is None:
        pytest.skip(f"no messages field known for provider kind {llm.provider.kind}")
    with pytest.raises(InvalidRequestError) as caught:
        await llm.complete(ask(max_tokens=4, extra={field: 42}))  # a number, not a list
    assert caught.value.status == 400, f"HTTP {caught.value.status}"
    assert not isinstance(caught.value, ContextLengthExceededError)


@check("errors", record_errors=True, applies=with_credentials)
async def test_bad_key_is_an_authentication_error(llm: LLMClient) -> None:
    client = LLMClient(llm.provider, llm.model, http=llm.http, api_key=WRONG_KEY)
    with pytest.raises(AuthenticationError) as caught:
        await client.complete(ask(max_tokens=1))
    assert caught.value.status in (401, 403), f"HTTP {caught.value.status}"


@check("errors", record_errors=True, applies=with_credentials)
async def test_unknown_model_is_model_not_found(llm: LLMClient) -> None:
    model = llm.model.model_copy(update={"id": "llmbench-no-such-model", "deployment": None})
    client = LLMClient(llm.provider, model, http=llm.http)
    with pytest.raises(ModelNotFoundError) as caught:
        await client.complete(ask(max_tokens=1))
    assert caught.value.status in (400, 404), f"HTTP {caught.value.status}"


# The rate-limit headers each wire format documents on every answer: (limit, remaining) pairs.
# Gemini and Bedrock document none; self-hosted OpenAI-compatible servers send none.
RATE_LIMIT_HEADERS = {
    "openai": [("x-ratelimit-limit-requests", "x-ratelimit-remaining-requests")],
    "openai-responses": [("x-ratelimit-limit-requests", "x-ratelimit-remaining-requests")],
    "anthropic": [
        ("anthropic-ratelimit-requests-limit", "anthropic-ratelimit-requests-remaining"),
    ],
}


def documents_rate_limit_headers(provider: ProviderConfig, model: ModelConfig) -> str | None:
    """Applies to hosted providers whose wire format documents rate-limit headers."""
    if provider.kind not in RATE_LIMIT_HEADERS:
        return f"the {provider.kind} wire format documents no rate-limit headers"
    return with_credentials(provider, model)


@check("errors", applies=documents_rate_limit_headers)
async def test_rate_limit_headers_are_readable(llm: LLMClient) -> None:
    key = llm.provider.api_key()
    request = llm.codec.build_request(ask(max_tokens=1), llm.model, llm.provider, key)
    response = await llm.http.send(request)
    assert response.status_code == 200, f"HTTP {response.status_code}"
    for limit_name, remaining_name in RATE_LIMIT_HEADERS[llm.provider.kind]:
        limit, remaining = response.headers.get(limit_name), response.headers.get(remaining_name)
        assert limit is not None and remaining is not None, f"no {limit_name} / {remaining_name}"
        assert limit.isdigit() and remaining.isdigit(), f"{limit_name}={limit!r}, {remaining_name}"
        assert int(remaining) <= int(limit), f"{remaining_name} {remaining} > {limit_name} {limit}"
