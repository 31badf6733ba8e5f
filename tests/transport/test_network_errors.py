"""The aiohttp network transport: malformed replies become taxonomy errors, and a request is
sent again only when a reused pooled connection turned out to be closed (once, counted)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from factories import make_provider

from pytest_llmbench import LLMClient, errors
from pytest_llmbench.transport import network_transport

BODY = json.dumps(
    {
        "id": "r",
        "model": "m",
        "choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1},
    }
).encode()
OK = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
    len(BODY),
    BODY,
)
# What to send for the n-th request on a connection (1-based); None: close without answering.
Script = Callable[[int], bytes | None]


class Posts:
    """How many requests the server read, and on how many connections."""

    def __init__(self) -> None:
        self.count = 0
        self.connections = 0


@asynccontextmanager
async def scripted_server(
    script: Script, *, close_after_answer: bool = False
) -> AsyncIterator[tuple[str, Posts]]:
    posts = Posts()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        posts.connections += 1
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                posts.count += 1
                served += 1
                answer = script(served)
                if answer is None:
                    return
                writer.write(answer)
                await writer.drain()
                if close_after_answer:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/v1", posts


async def no_sleep(delay: float) -> None:
    pass


def client(base_url: str, max_retries: int) -> LLMClient:
    provider = make_provider("openai", base_url=base_url, api_key_env=None, max_retries=max_retries)
    return LLMClient(provider, transport=network_transport(provider), sleep=no_sleep)


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nno colon here\r\n"
        b"content-length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{}",
        b"this is not HTTP at all\r\n\r\n",
    ],
    ids=["header-without-colon", "content-length-past-the-body", "not-http"],
)
async def test_a_malformed_reply_is_a_provider_error(reply: bytes) -> None:
    script = scripted_server(lambda n: reply, close_after_answer=True)
    async with script as (url, posts), client(url, max_retries=0) as llm:
        with pytest.raises(errors.ProviderError):
            await llm.complete("Hi", stream=False)
    assert posts.count == 1


async def test_a_server_closing_without_answer_gets_max_retries_plus_one_posts() -> None:
    async with (
        scripted_server(lambda n: None) as (url, posts),
        client(url, max_retries=2) as llm,
    ):
        with pytest.raises(errors.ProviderError):
            await llm.complete("Hi", stream=False)
    assert posts.count == 3


async def test_a_stale_pooled_connection_is_resent_once_and_counted_as_a_retry() -> None:
    # Each connection answers its first request and closes on the second: a stale pool entry.
    async with (
        scripted_server(lambda n: OK if n == 1 else None) as (url, posts),
        client(url, max_retries=0) as llm,
    ):
        first = await llm.complete("Hi", stream=False)
        second = await llm.complete("Hi", stream=False)
    assert (first.text, second.text) == ("hi", "hi")
    assert posts.count == 3 and posts.connections == 2
    assert first.metrics.retries == 0
    assert second.metrics.retries == 1


async def test_a_server_closing_every_connection_after_its_answer_loses_no_request() -> None:
    # llama.cpp's way: every connection is closed after one response, often after the pool took
    # it back. A request whose body could not be written on such a connection never reached the
    # server, so it goes again (counted) until it meets a live connection.
    from pytest_llmbench.load import LoadRun, LoadShape, cycle_requests
    from pytest_llmbench.types import Request

    request = Request.model_validate({"messages": [{"role": "user", "content": "Hi"}]})
    async with (
        scripted_server(lambda n: OK, close_after_answer=True) as (url, posts),
        client(url, max_retries=0) as llm,
    ):
        stats = await LoadRun(
            llm, cycle_requests([request]), LoadShape(concurrency=4, count=40)
        ).run()
    assert stats.errors == {}
    assert posts.count == 40  # no request reached the server twice
