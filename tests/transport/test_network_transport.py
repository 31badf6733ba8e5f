"""The real network transport on loopback sockets: keep-alive quirks, proxies, timeouts."""

from __future__ import annotations

import asyncio
import json

import pytest
from factories import make_provider
from loopback import Seen, chunked, response_head, serve

from pytest_llmbench import LLMClient, errors

REPLY = {
    "id": "r",
    "model": "m",
    "choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1},
}


async def reply_json(seen: Seen, writer: asyncio.StreamWriter) -> None:
    body = json.dumps(REPLY).encode()
    writer.write(response_head(transfer_encoding="chunked") + chunked(body))


@pytest.mark.parametrize("backend", ["aiohttp", "httpx"])
async def test_server_closing_keepalive_connections_is_survived(backend: str) -> None:
    # llama.cpp's server closes a keep-alive connection after each response.
    async with serve(reply_json, close_after_response=True) as server:
        provider = make_provider(
            "openai", base_url=f"{server.url}/v1", api_key_env=None, max_retries=0
        )
        from pytest_llmbench.transport import network_transport

        async with LLMClient(
            provider, transport=network_transport(provider, backend=backend)
        ) as llm:
            texts = [(await llm.complete("Hi")).text for _ in range(3)]
    assert texts == ["hi", "hi", "hi"]
    assert len(server.seen) == 3


async def test_requests_go_through_the_configured_proxy() -> None:
    async with serve(reply_json) as proxy:
        provider = make_provider(
            "openai", base_url="http://origin.invalid/v1", api_key_env=None, proxy=proxy.url
        )
        async with LLMClient(provider) as llm:
            assert (await llm.complete("Hi")).text == "hi"
    assert proxy.seen[0].request_line == "POST http://origin.invalid/v1/chat/completions HTTP/1.1"


async def test_unreachable_endpoint_names_the_address() -> None:
    async with serve(reply_json) as server:
        port = server.port
    provider = make_provider(
        "openai", base_url=f"http://127.0.0.1:{port}/v1", api_key_env=None, max_retries=0
    )
    async with LLMClient(provider) as llm:
        with pytest.raises(
            (errors.ConnectionError, errors.TimeoutError), match=f"127.0.0.1:{port}"
        ):
            await llm.complete("Hi")


async def test_read_timeout_is_a_timeout_error() -> None:
    async def stall(seen: Seen, writer: asyncio.StreamWriter) -> None:
        writer.write(response_head(content_type="text/event-stream", transfer_encoding="chunked"))
        writer.write(chunked()[:0])
        await writer.drain()
        await asyncio.Event().wait()  # never sends the body

    async with serve(stall) as server:
        provider = make_provider(
            "openai",
            base_url=f"{server.url}/v1",
            api_key_env=None,
            max_retries=0,
            read_timeout_s=0.3,
        )
        async with LLMClient(provider) as llm:
            with pytest.raises(errors.TimeoutError):
                await llm.complete("Hi", stream=True)
