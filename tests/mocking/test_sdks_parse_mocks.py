"""The official SDKs read what llm_mock sends as they read the real APIs.

The openai and anthropic clients are pointed at LLMMock through a MockTransport; what they
parse (text, tool calls, stop reasons, usage, error classes) must be what was scripted.
Bedrock's answers go through botocore's own rest-json parser for Converse(Stream).

The SDKs installed here are built on httpx2. The anthropic SDK refuses httpx clients, so it
gets an httpx2 MockTransport that hands each request to LLMMock's (httpx) router and streams
the answer back unchanged; the openai SDK is tried both ways, since it still takes an httpx
client (untyped, by duck typing).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anthropic
import botocore.session
import httpx
import httpx2
import openai
import pytest
from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser
from factories import make_provider

from pytest_llmbench.mocking import LLMMock, emitter_for
from pytest_llmbench.mocking.emitter import MockError, MockReply, MockToolCall
from pytest_llmbench.transport.httpx2_bridge import Httpx2Bridge
from pytest_llmbench.types import Usage

WEATHER = {"city": "Paris", "unit": "celsius"}
TOOLS_OPENAI: Any = [
    {
        "type": "function",
        "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
    }
]
TOOLS_ANTHROPIC: Any = [
    {"name": "get_weather", "input_schema": {"type": "object", "properties": {}}}
]
MESSAGES: Any = [{"role": "user", "content": "Hi"}]


def mock_for(kind: str) -> LLMMock:
    provider = make_provider(kind, model_id="mock-model")
    return LLMMock(provider, provider.model())


# -- clients -----------------------------------------------------------------------------------


def httpx2_transport(mock: LLMMock) -> Httpx2Bridge:
    """LLMMock's router behind an httpx2 transport (pacing and mid-stream resets kept)."""
    return Httpx2Bridge(mock.transport)


@asynccontextmanager
async def openai_client(
    kind: str, flavour: str
) -> AsyncIterator[tuple[openai.AsyncOpenAI, LLMMock]]:
    """An openai client on LLMMock, through an httpx client (LLMMock's own transport, which
    the SDK accepts by duck typing) or through the httpx2 client the SDK is typed for."""
    mock = mock_for(kind)
    http: Any
    if flavour == "httpx":
        http = httpx.AsyncClient(transport=httpx.MockTransport(mock.router.async_handler))
    else:
        http = httpx2.AsyncClient(transport=httpx2_transport(mock))
    async with http:
        client = openai.AsyncOpenAI(
            api_key="key", base_url=mock.provider.base_url, http_client=http, max_retries=0
        )
        yield client, mock


@pytest.fixture(params=["httpx", "httpx2"])
async def openai_mock(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[openai.AsyncOpenAI, LLMMock]]:
    async with openai_client("openai", request.param) as pair:
        yield pair


@pytest.fixture(params=["httpx", "httpx2"])
async def responses_mock(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[openai.AsyncOpenAI, LLMMock]]:
    async with openai_client("openai-responses", request.param) as pair:
        yield pair


@pytest.fixture
async def anthropic_mock() -> AsyncIterator[tuple[anthropic.AsyncAnthropic, LLMMock]]:
    mock = mock_for("anthropic")
    async with httpx2.AsyncClient(transport=httpx2_transport(mock)) as http:
        client = anthropic.AsyncAnthropic(
            api_key="key", base_url=mock.provider.base_url, http_client=http, max_retries=0
        )
        yield client, mock


# -- openai ------------------------------------------------------------------------------------


async def test_openai_chat_completion(openai_mock: tuple[openai.AsyncOpenAI, LLMMock]) -> None:
    client, mock = openai_mock
    mock.reply("Hello there friend", usage={"input_tokens": 11, "output_tokens": 3})
    completion = await client.chat.completions.create(model="mock-model", messages=MESSAGES)
    choice = completion.choices[0]
    assert choice.message.content == "Hello there friend"
    assert choice.message.role == "assistant"
    assert choice.finish_reason == "stop"
    assert completion.model == "mock-model"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (11, 3)
    assert mock.requests[0].url == "https://api.openai.com/v1/chat/completions"


async def test_openai_chat_stream(openai_mock: tuple[openai.AsyncOpenAI, LLMMock]) -> None:
    client, mock = openai_mock
    mock.stream(["Hel", "lo", "!"], usage={"input_tokens": 7, "output_tokens": 3})
    stream = await client.chat.completions.create(
        model="mock-model",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    text: list[str] = []
    finish: list[str] = []
    usage: list[Any] = []
    async for chunk in stream:
        for choice in chunk.choices:
            text.append(choice.delta.content or "")
            if choice.finish_reason:
                finish.append(choice.finish_reason)
        if chunk.usage is not None:
            usage.append(chunk.usage)
    assert "".join(text) == "Hello!"
    assert finish == ["stop"]
    assert [(u.prompt_tokens, u.completion_tokens) for u in usage] == [(7, 3)]


async def test_openai_tool_call(openai_mock: tuple[openai.AsyncOpenAI, LLMMock]) -> None:
    client, mock = openai_mock
    mock.tool_call("get_weather", WEATHER, id="call_abc")
    completion = await client.chat.completions.create(
        model="mock-model", messages=MESSAGES, tools=TOOLS_OPENAI
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls or []
    assert call.id == "call_abc"
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == WEATHER


async def test_openai_tool_call_stream(openai_mock: tuple[openai.AsyncOpenAI, LLMMock]) -> None:
    client, mock = openai_mock
    mock.tool_call("get_weather", WEATHER, id="call_abc")
    # The SDK's stream helper assembles tool-call deltas as it does for the real API.
    async with client.chat.completions.stream(
        model="mock-model", messages=MESSAGES, tools=TOOLS_OPENAI
    ) as stream:
        async for _ in stream:
            pass
        completion = await stream.get_final_completion()
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls or []
    assert (call.id, call.function.name) == ("call_abc", "get_weather")
    assert json.loads(call.function.arguments) == WEATHER


async def test_openai_rate_limit(openai_mock: tuple[openai.AsyncOpenAI, LLMMock]) -> None:
    client, mock = openai_mock
    mock.error(429, "Rate limit reached", retry_after=2)
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(model="mock-model", messages=MESSAGES)
    assert caught.value.status_code == 429
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "2"
    assert "Rate limit reached" in caught.value.message


# -- anthropic ---------------------------------------------------------------------------------


async def test_anthropic_message(
    anthropic_mock: tuple[anthropic.AsyncAnthropic, LLMMock],
) -> None:
    client, mock = anthropic_mock
    mock.reply("Hello there", usage=Usage(input_tokens=20, output_tokens=2, cached_input_tokens=5))
    message = await client.messages.create(model="mock-model", max_tokens=64, messages=MESSAGES)
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == "Hello there"  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert message.model == "mock-model"
    assert message.usage.input_tokens == 15  # cache reads are counted apart
    assert message.usage.cache_read_input_tokens == 5
    assert message.usage.output_tokens == 2
    assert mock.requests[0].url == "https://api.anthropic.com/v1/messages"


async def test_anthropic_raw_stream(
    anthropic_mock: tuple[anthropic.AsyncAnthropic, LLMMock],
) -> None:
    client, mock = anthropic_mock
    mock.stream(["Hel", "lo"], usage={"input_tokens": 9, "output_tokens": 2})
    stream = await client.messages.create(
        model="mock-model", max_tokens=64, messages=MESSAGES, stream=True
    )
    kinds: list[str] = []
    text: list[str] = []
    async for event in stream:
        kinds.append(event.type)
        if event.type == "content_block_delta" and event.delta.type == "text_delta":
            text.append(event.delta.text)
        if event.type == "message_delta":
            assert event.delta.stop_reason == "end_turn"
            assert event.usage.output_tokens == 2
    assert "".join(text) == "Hello"
    assert kinds == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


async def test_anthropic_stream_helper(
    anthropic_mock: tuple[anthropic.AsyncAnthropic, LLMMock],
) -> None:
    client, mock = anthropic_mock
    mock.stream(["Bon", "jour", " ✓"], usage={"input_tokens": 9, "output_tokens": 3})
    async with client.messages.stream(
        model="mock-model", max_tokens=64, messages=MESSAGES
    ) as stream:
        text = [chunk async for chunk in stream.text_stream]
        message = await stream.get_final_message()
    assert text == ["Bon", "jour", " ✓"]
    assert message.content[0].text == "Bonjour ✓"  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (9, 3)


async def test_anthropic_tool_use(
    anthropic_mock: tuple[anthropic.AsyncAnthropic, LLMMock],
) -> None:
    client, mock = anthropic_mock
    mock.tool_call("get_weather", WEATHER, id="toolu_01")
    message = await client.messages.create(
        model="mock-model", max_tokens=64, messages=MESSAGES, tools=TOOLS_ANTHROPIC
    )
    assert message.stop_reason == "tool_use"
    (block,) = message.content
    assert block.type == "tool_use"
    assert (block.id, block.name, block.input) == ("toolu_01", "get_weather", WEATHER)


async def test_anthropic_tool_use_stream_helper(
    anthropic_mock: tuple[anthropic.AsyncAnthropic, LLMMock],
) -> None:
    client, mock = anthropic_mock
    reply = MockReply(
        ["Checking."],
        tool_calls=[
            MockToolCall("get_weather", WEATHER, id="toolu_01"),
            MockToolCall("get_weather", {"city": "Oslo"}, id="toolu_02"),
        ],
        finish="tool_calls",
        model="mock-model",
    )
    mock.sequence(reply)
    async with client.messages.stream(
        model="mock-model", max_tokens=64, messages=MESSAGES, tools=TOOLS_ANTHROPIC
    ) as stream:
        message = await stream.get_final_message()
    assert message.stop_reason == "tool_use"
    assert [block.type for block in message.content] == ["text", "tool_use", "tool_use"]
    text, first, second = message.content
    assert text.type == "text"
    assert text.text == "Checking."
    assert first.type == "tool_use"
    assert second.type == "tool_use"
    assert (first.id, first.name, first.input) == ("toolu_01", "get_weather", WEATHER)
    assert (second.id, second.input) == ("toolu_02", {"city": "Oslo"})


async def test_anthropic_overloaded(
    anthropic_mock: tuple[anthropic.AsyncAnthropic, LLMMock],
) -> None:
    client, mock = anthropic_mock
    mock.error(529, "Overloaded")
    with pytest.raises((anthropic.InternalServerError, anthropic.OverloadedError)) as caught:
        await client.messages.create(model="mock-model", max_tokens=64, messages=MESSAGES)
    assert caught.value.status_code == 529
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


async def test_anthropic_rate_limit(
    anthropic_mock: tuple[anthropic.AsyncAnthropic, LLMMock],
) -> None:
    client, mock = anthropic_mock
    mock.error(429, "Number of requests has exceeded your rate limit", retry_after=4)
    with pytest.raises(anthropic.RateLimitError) as caught:
        await client.messages.create(model="mock-model", max_tokens=64, messages=MESSAGES)
    assert caught.value.response.headers["retry-after"] == "4"


# -- bedrock (botocore's parser) ---------------------------------------------------------------


class _RawStream:
    """What botocore's EventStream reads from: a body that yields its bytes in chunks."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    def stream(self) -> Iterator[bytes]:
        yield from self._chunks

    def close(self) -> None:
        pass


def _converse_stream_events(chunks: list[bytes]) -> list[dict[str, Any]]:
    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    operation = model.operation_model("ConverseStream")
    response = {
        "status_code": 200,
        "headers": HeadersDict({"content-type": emitter_for("bedrock").stream_content_type}),
        "body": _RawStream(chunks),
        "context": {"operation_name": "ConverseStream"},
    }
    assert operation.output_shape is not None
    parsed = create_parser("rest-json").parse(response, operation.output_shape)
    return list(parsed["stream"])


def test_botocore_parses_converse_stream() -> None:
    reply = MockReply(
        ["Hi", " there"],
        tool_calls=[MockToolCall("get_weather", WEATHER, id="tooluse_1")],
        finish="tool_calls",
        usage=Usage(input_tokens=30, output_tokens=8),
    )
    chunks = [chunk.data for chunk in emitter_for("bedrock").chunks(reply)]
    events = _converse_stream_events(chunks)
    names = [next(iter(event)) for event in events]
    assert names == [
        "messageStart",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "contentBlockStart",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert events[0] == {"messageStart": {"role": "assistant"}}
    text = "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events[1:3])
    assert text == "Hi there"
    assert events[4]["contentBlockStart"]["start"]["toolUse"] == {
        "toolUseId": "tooluse_1",
        "name": "get_weather",
    }
    assert json.loads(events[5]["contentBlockDelta"]["delta"]["toolUse"]["input"]) == WEATHER
    assert events[7] == {"messageStop": {"stopReason": "tool_use"}}
    assert events[8]["metadata"]["usage"] == {
        "inputTokens": 30,
        "outputTokens": 8,
        "totalTokens": 38,
    }


def test_botocore_parses_converse_error() -> None:
    emitter = emitter_for("bedrock")
    error = MockError(429, "Too many requests, please wait before trying again.")
    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    response = {
        "status_code": 429,
        "headers": HeadersDict(emitter.error_headers(error)),
        "body": json.dumps(emitter.error_body(error)).encode(),
    }
    shape = model.operation_model("Converse").output_shape
    assert shape is not None
    parsed = create_parser("rest-json").parse(response, shape)
    assert parsed["Error"]["Code"] == "ThrottlingException"
    assert parsed["Error"]["Message"] == error.message


# -- openai responses --------------------------------------------------------------------------


async def test_openai_responses_body(responses_mock: tuple[openai.AsyncOpenAI, LLMMock]) -> None:
    client, mock = responses_mock
    mock.reply("Hello there", usage={"input_tokens": 8, "output_tokens": 2})
    response = await client.responses.create(model="mock-model", input="Hi")
    assert response.output_text == "Hello there"
    assert response.status == "completed"
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (8, 2)


async def test_openai_responses_stream_helper(
    responses_mock: tuple[openai.AsyncOpenAI, LLMMock],
) -> None:
    client, mock = responses_mock
    mock.sequence(
        MockReply(
            ["Let", " me", " check."],
            tool_calls=[MockToolCall("get_weather", WEATHER, id="call_w")],
            finish="tool_calls",
            model="mock-model",
        )
    )
    deltas: list[str] = []
    sequence: list[int] = []
    # The SDK's helper rebuilds the response from the events and checks their order.
    async with client.responses.stream(model="mock-model", input="Hi") as stream:
        async for event in stream:
            sequence.append(event.sequence_number)
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        response = await stream.get_final_response()
    assert sequence == list(range(len(sequence)))
    assert deltas == ["Let", " me", " check."]
    assert response.output_text == "Let me check."
    calls = [item for item in response.output if item.type == "function_call"]
    assert [(c.call_id, c.name, json.loads(c.arguments)) for c in calls] == [
        ("call_w", "get_weather", WEATHER)
    ]


async def test_openai_responses_error(responses_mock: tuple[openai.AsyncOpenAI, LLMMock]) -> None:
    client, mock = responses_mock
    mock.error(404, "The model `nope` does not exist")
    with pytest.raises(openai.NotFoundError):
        await client.responses.create(model="nope", input="Hi")
