"""Clients, requests and synthetic SSE bodies for the hostile-server fault tests (shared by
import, so a plain module rather than a conftest)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any, TypeVar

from factories import make_provider

from pytest_llmbench import LLMClient
from pytest_llmbench.config import ProviderConfig
from pytest_llmbench.retry import RetryPolicy
from pytest_llmbench.types import Message, Request

T = TypeVar("T")

# A hang guard, not a measurement: far above every deadline the tests configure.
HANG_GUARD_S = 60.0

STREAMED = Request(messages=[Message(role="user", content="Hi")], max_tokens=5, stream=True)
PLAIN = Request(messages=[Message(role="user", content="Hi")], max_tokens=5, stream=False)


def provider_at(url: str, **fields: Any) -> ProviderConfig:
    """An OpenAI-compatible provider at a hostile server's `url`, no key, no retries unless
    given; `fields` override any ProviderConfig field."""
    values: dict[str, Any] = {"api_key_env": None, "max_retries": 0, **fields}
    return make_provider("openai", name="hostile", base_url=f"{url}/v1", **values)


class Sleeps:
    """An injected sleep: records the delays asked for and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def client_for(provider: ProviderConfig, sleeps: Sleeps | None = None) -> LLMClient:
    """An LLMClient on the real (aiohttp) network transport, with jitter-free backoff."""
    retry = RetryPolicy(max_retries=provider.max_retries, random=lambda: 1.0)
    return LLMClient(provider, retry=retry, sleep=sleeps or Sleeps())


async def guarded(awaitable: Awaitable[T]) -> T:
    """`awaitable`, failing the test instead of hanging it if it never ends."""
    return await asyncio.wait_for(awaitable, HANG_GUARD_S)


def sse(*chunks: dict[str, Any] | str) -> bytes:
    """SSE events, each a `data:` line (a dict is JSON-encoded) and a blank line."""
    return b"".join(
        f"data: {json.dumps(c) if isinstance(c, dict) else c}\n\n".encode() for c in chunks
    )


def text_chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    """A synthetic chat.completion.chunk (OpenAI's documented shape) with one text delta."""
    return {
        "id": "chatcmpl-hostile",
        "object": "chat.completion.chunk",
        "model": "test-model",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}],
    }


GOOD_STREAM = sse(text_chunk("Hel"), text_chunk("lo", "stop"), "[DONE]")
GOOD_REPLY = json.dumps(  # a synthetic non-streamed chat completion
    {
        "id": "chatcmpl-hostile",
        "object": "chat.completion",
        "model": "test-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
).encode()
