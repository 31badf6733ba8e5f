"""The rate-limit headers check reads the headers each wire format documents."""

from __future__ import annotations

import json

import httpx
import pytest
from factories import make_provider

from pytest_llmbench import LLMClient
from pytest_llmbench.conformance.errors import (
    documents_rate_limit_headers,
)
from pytest_llmbench.conformance.errors import (
    test_rate_limit_headers_are_readable as rate_limit_check,
)

ANSWER = {
    "id": "r",
    "model": "test-model",
    "choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1},
}


def client_answering(headers: dict[str, str]) -> LLMClient:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=headers, content=json.dumps(ANSWER).encode())

    return LLMClient(make_provider("openai"), transport=httpx.MockTransport(answer))


async def test_the_documented_headers_pass() -> None:
    headers = {"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "499"}
    async with client_answering(headers) as llm:
        await rate_limit_check(llm)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "many"},
        {"x-ratelimit-limit-requests": "5", "x-ratelimit-remaining-requests": "9"},
    ],
    ids=["missing", "not-a-number", "remaining-above-limit"],
)
async def test_missing_or_inconsistent_headers_fail(headers: dict[str, str]) -> None:
    async with client_answering(headers) as llm:
        with pytest.raises(AssertionError):
            await rate_limit_check(llm)


def test_it_applies_only_where_headers_are_documented() -> None:
    model = make_provider("openai").models[0]
    assert documents_rate_limit_headers(make_provider("openai"), model) is None
    assert "gemini" in (documents_rate_limit_headers(make_provider("gemini"), model) or "")
    keyless = make_provider("openai", api_key_env=None)
    assert "no credentials" in (documents_rate_limit_headers(keyless, model) or "")
