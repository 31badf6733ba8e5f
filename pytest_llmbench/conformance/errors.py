"""Conformance checks on failures: each provider error maps to the same taxonomy class."""

from __future__ import annotations

import pytest

from pytest_llmbench.client import LLMClient
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
