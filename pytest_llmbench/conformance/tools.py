"""Conformance checks on tool use: forced, refused and named calls, arguments, streaming,
and the call -> result -> answer round trip."""

from __future__ import annotations

import json

from pytest_llmbench.client import LLMClient
from pytest_llmbench.conformance.check import (
    TIME_TOOL,
    WEATHER_TOOL,
    check,
    events_of,
    named_tool_choice,
)
from pytest_llmbench.types import Completion, Message, Request, ToolCall, ToolSpec

__all__ = [
    "test_named_tool_choice_calls_that_tool",
    "test_none_tool_choice_answers_in_text",
    "test_required_tool_choice_forces_a_call",
    "test_streamed_argument_deltas_assemble_into_the_arguments",
    "test_tool_arguments_follow_the_schema",
    "test_tool_call_has_name_and_parsed_arguments",
    "test_tool_calls_have_distinct_ids",
    "test_tool_result_round_trip_gets_an_answer",
    "test_tool_without_arguments_is_called_with_none",
    "test_unicode_tool_arguments_round_trip",
]

NEEDS = ["tools"]
WEATHER_PROMPT = "What is the weather in Paris?"
NO_ARGUMENTS_TOOL = ToolSpec(
    name="get_server_time",
    description="The server's current time. Takes no arguments.",
    parameters={"type": "object", "properties": {}},
)
CITIES = ["Zürich", "東京", "São Paulo", "Kraków 🏰"]
UNICODE_TOOL = ToolSpec(
    name="get_weather",
    description="The current weather in one of the listed cities.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string", "enum": CITIES}},
        "required": ["city"],
    },
)
BOOKING_TOOL = ToolSpec(
    name="book_table",
    description="Book a table at a restaurant.",
    parameters={
        "type": "object",
        "properties": {
            "guests": {"type": "integer", "minimum": 1, "maximum": 12},
            "terrace": {"type": "boolean"},
            "time": {"type": "string", "enum": ["12:00", "19:00", "21:00"]},
        },
        "required": ["guests", "terrace", "time"],
    },
)


def _forced(prompt: str, tools: list[ToolSpec], **fields: object) -> Request:
    return Request.model_validate(
        {
            "messages": [{"role": "user", "content": prompt}],
            "tools": tools,
            "tool_choice": "required",
            "max_tokens": 128,
            "temperature": 0,
            **fields,
        }
    )


def _one_call(completion: Completion) -> ToolCall:
    assert completion.finish_reason == "tool_calls", (
        f"finish {completion.finish_reason!r} (raw {completion.raw_finish_reason!r}), text "
        f"{completion.text[:80]!r}"
    )
    assert completion.tool_calls, "finished for tool calls but carries none"
    return completion.tool_calls[0]


@check("tools", needs=NEEDS)
async def test_tool_call_has_name_and_parsed_arguments(llm: LLMClient) -> None:
    call = _one_call(await llm.complete(_forced(WEATHER_PROMPT, [WEATHER_TOOL], stream=True)))
    assert call.name == "get_weather"
    assert isinstance(call.arguments.get("city"), str)


@check("tools", needs=NEEDS)
async def test_required_tool_choice_forces_a_call(llm: LLMClient) -> None:
    completion = await llm.complete(_forced("Say hello.", [WEATHER_TOOL, TIME_TOOL]))
    call = _one_call(completion)
    assert call.name in ("get_weather", "get_time"), f"called an unknown tool {call.name!r}"


@check("tools", needs=NEEDS)
async def test_none_tool_choice_answers_in_text(llm: LLMClient) -> None:
    request = _forced(WEATHER_PROMPT, [WEATHER_TOOL], tool_choice="none", max_tokens=16)
    completion = await llm.complete(request)
    assert not completion.tool_calls, f"called {[c.name for c in completion.tool_calls]}"
    assert completion.finish_reason in ("stop", "length"), completion.raw_finish_reason
    assert completion.text.strip(), "neither a call nor text"


@check("tools", needs=[*NEEDS, "named_tool_choice"])
async def test_named_tool_choice_calls_that_tool(llm: LLMClient) -> None:
    tools = [WEATHER_TOOL, TIME_TOOL]
    request = _forced(
        WEATHER_PROMPT, tools, tool_choice=None, extra=named_tool_choice(llm, TIME_TOOL, tools)
    )
    completion = await llm.complete(request)
    assert completion.tool_calls, f"no call; finish {completion.raw_finish_reason!r}"
    assert [c.name for c in completion.tool_calls] == ["get_time"]


@check("tools", needs=NEEDS)
async def test_tool_calls_have_distinct_ids(llm: LLMClient) -> None:
    completion = await llm.complete(
        _forced("What is the weather in Paris and in Rome?", [WEATHER_TOOL])
    )
    _one_call(completion)
    ids = [call.id for call in completion.tool_calls]
    assert all(ids), f"a call has no id: {ids}"
    assert len(set(ids)) == len(ids), f"repeated call ids: {ids}"
    for call in completion.tool_calls:
        assert call.name == "get_weather" and isinstance(call.arguments.get("city"), str)


@check("tools", needs=NEEDS)
async def test_tool_without_arguments_is_called_with_none(llm: LLMClient) -> None:
    call = _one_call(await llm.complete(_forced("What time is it?", [NO_ARGUMENTS_TOOL])))
    assert call.name == "get_server_time"
    assert call.arguments == {}, f"arguments for a tool that takes none: {call.arguments}"


@check("tools", needs=NEEDS)
async def test_unicode_tool_arguments_round_trip(llm: LLMClient) -> None:
    request = _forced("Weather in Zürich or 東京?", [UNICODE_TOOL], stream=True)
    call = _one_call(await llm.complete(request))
    assert call.arguments.get("city") in CITIES, f"city {call.arguments.get('city')!r}"
    assert json.loads(call.raw_arguments or json.dumps(call.arguments)) == call.arguments


@check("tools", needs=[*NEEDS, "streaming"])
async def test_streamed_argument_deltas_assemble_into_the_arguments(llm: LLMClient) -> None:
    events, completion = await events_of(llm, _forced(WEATHER_PROMPT, [WEATHER_TOOL]))
    call = _one_call(completion)
    first = [e for e in events if e.type == "tool_call" and e.index == 0]
    assert first, "the stream carried no tool-call events"
    assembled = "".join(e.text for e in first)
    assert json.loads(assembled) == call.arguments, f"deltas assemble to {assembled!r}"
    assert any(e.name == call.name for e in first), "no delta named the tool"


@check("tools", needs=NEEDS)
async def test_tool_result_round_trip_gets_an_answer(llm: LLMClient) -> None:
    request = _forced(WEATHER_PROMPT, [WEATHER_TOOL])
    call = _one_call(await llm.complete(request))
    follow_up = request.model_copy(
        update={
            "tool_choice": "auto",
            "max_tokens": 16,
            "messages": [
                *request.messages,
                Message(role="assistant", tool_calls=[call]),
                Message(role="tool", tool_call_id=call.id, name=call.name, content="Sunny, 21 C"),
            ],
        }
    )
    answer = await llm.complete(follow_up)
    assert answer.finish_reason in ("stop", "length", "tool_calls"), answer.raw_finish_reason
    assert answer.text.strip() or answer.tool_calls, "no answer after the tool result"
    assert answer.usage is not None and answer.usage.input_tokens > 0


@check("tools", needs=NEEDS)
async def test_tool_arguments_follow_the_schema(llm: LLMClient) -> None:
    call = _one_call(await llm.complete(_forced("A table for two at 7pm.", [BOOKING_TOOL])))
    arguments = call.arguments
    assert set(arguments) == {"guests", "terrace", "time"}, f"arguments {arguments}"
    assert isinstance(arguments["guests"], int) and 1 <= arguments["guests"] <= 12
    assert isinstance(arguments["terrace"], bool)
    assert arguments["time"] in ("12:00", "19:00", "21:00")
