"""A ready-made conformance suite: does the provider still behave as our code assumes?

Use it from any test module (the checks run against every selected provider:model):

    from pytest_llmbench.conformance import *  # noqa: F403

Each check is an ordinary live test: real calls with credentials, replayed cassettes without.
Checks needing a capability (tools, json_schema, system) skip models that lack it.
"""

from __future__ import annotations

import json

import pytest

from pytest_llmbench.client import LLMClient
from pytest_llmbench.errors import ContextLengthExceededError
from pytest_llmbench.types import Message, Request, ToolSpec

PROMPT = "Write one sentence about the sea."
# Checks that build prompts larger than the context window only run where that is cheap.
MAX_CONTEXT_FOR_OVERFLOW_CHECK = 32_768

__all__ = [
    "test_answer_has_text_finish_reason_and_usage",
    "test_context_length_exceeded_is_reported",
    "test_json_schema_output_parses",
    "test_max_tokens_stops_with_length",
    "test_stream_reports_usage_and_output_events",
    "test_streamed_and_plain_answers_agree",
    "test_system_prompt_is_accepted",
    "test_tool_call_has_name_and_parsed_arguments",
]


def _request(**fields: object) -> Request:
    return Request.model_validate(
        {"messages": [{"role": "user", "content": PROMPT}], "temperature": 0, **fields}
    )


@pytest.mark.live
@pytest.mark.asyncio
async def test_answer_has_text_finish_reason_and_usage(llm: LLMClient) -> None:
    completion = await llm.complete(_request(max_tokens=16))
    assert completion.text.strip(), "the answer has no text"
    assert completion.finish_reason in ("stop", "length"), completion.raw_finish_reason
    assert completion.raw_finish_reason, "the provider sent no stop reason"
    assert completion.usage is not None, "the provider reported no usage"
    assert completion.usage.input_tokens > 0
    assert completion.usage.output_tokens > 0


@pytest.mark.live
@pytest.mark.asyncio
async def test_stream_reports_usage_and_output_events(llm: LLMClient) -> None:
    completion = await llm.complete(_request(max_tokens=16, stream=True))
    metrics = completion.metrics
    assert metrics.output_events > 0, "the stream carried no output events"
    assert metrics.ttft_ms is not None and metrics.e2e_ms is not None
    assert metrics.ttft_ms <= metrics.e2e_ms
    assert not metrics.usage_estimated, "the stream did not report usage (include_usage?)"
    assert completion.finish_reason in ("stop", "length")


@pytest.mark.live
@pytest.mark.asyncio
async def test_max_tokens_stops_with_length(llm: LLMClient) -> None:
    completion = await llm.complete(_request(max_tokens=2, stream=True))
    assert completion.finish_reason == "length", (
        f"expected a stop for length at max_tokens=2, got {completion.raw_finish_reason!r}"
    )
    assert completion.usage is not None
    assert completion.usage.output_tokens <= 3  # some servers count the end token too


@pytest.mark.live
@pytest.mark.asyncio
async def test_streamed_and_plain_answers_agree(llm: LLMClient) -> None:
    plain = await llm.complete(_request(max_tokens=8))
    streamed = await llm.complete(_request(max_tokens=8, stream=True))
    assert plain.usage is not None and streamed.usage is not None
    assert plain.usage.input_tokens == streamed.usage.input_tokens
    assert plain.finish_reason == streamed.finish_reason


@pytest.mark.live
@pytest.mark.llm(needs=["system"])
@pytest.mark.asyncio
async def test_system_prompt_is_accepted(llm: LLMClient) -> None:
    without = await llm.complete(_request(max_tokens=4))
    request = _request(max_tokens=4)
    request.messages.insert(0, Message(role="system", content="You answer briefly."))
    with_system = await llm.complete(request)
    assert without.usage is not None and with_system.usage is not None
    assert with_system.usage.input_tokens > without.usage.input_tokens, (
        "the system prompt did not reach the model"
    )


@pytest.mark.live(record_errors=True)
@pytest.mark.asyncio
async def test_context_length_exceeded_is_reported(llm: LLMClient) -> None:
    window = llm.model.context_window
    if window > MAX_CONTEXT_FOR_OVERFLOW_CHECK:
        pytest.skip(f"context window {window:,} tokens: overflowing it costs too much")
    # Eight characters a word and a word a token at the least: well past the window.
    long_prompt = "overflow " * (window * 2)
    with pytest.raises(ContextLengthExceededError):
        await llm.complete(
            Request(messages=[{"role": "user", "content": long_prompt}], max_tokens=4)
        )


@pytest.mark.live
@pytest.mark.llm(needs=["json_schema"])
@pytest.mark.asyncio
async def test_json_schema_output_parses(llm: LLMClient) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    }
    completion = await llm.complete(
        Request(
            messages=[{"role": "user", "content": "Name a city in France as JSON."}],
            max_tokens=64,
            response_schema=schema,
            response_schema_name="city",
        )
    )
    data = json.loads(completion.text)
    assert isinstance(data.get("city"), str)


@pytest.mark.live
@pytest.mark.llm(needs=["tools"])
@pytest.mark.asyncio
async def test_tool_call_has_name_and_parsed_arguments(llm: LLMClient) -> None:
    tool = ToolSpec(
        name="get_weather",
        description="The current weather in a city.",
        parameters={
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    )
    completion = await llm.complete(
        Request(
            messages=[{"role": "user", "content": "What is the weather in Paris?"}],
            tools=[tool],
            tool_choice="required",
            max_tokens=128,
            stream=True,
        )
    )
    assert completion.finish_reason == "tool_calls", completion.raw_finish_reason
    [call] = completion.tool_calls
    assert call.name == "get_weather"
    assert isinstance(call.arguments.get("city"), str)
