"""A response's shape: event names, field paths and JSON types per event type, header names."""

from __future__ import annotations

import json

from pytest_llmbench.drift import response_shape
from pytest_llmbench.drift.shape import BODY_EVENT, NOT_JSON
from pytest_llmbench.mocking import emitter_for
from pytest_llmbench.mocking.emitter import MockReply, MockToolCall

SSE = {"content-type": "text/event-stream"}
REPLY = MockReply(
    tokens=["Hi", " there"], tool_calls=[MockToolCall("get_weather", {"city": "Oslo"})], model="m"
)


def stream_of(kind: str, reply: MockReply = REPLY) -> bytes:
    return b"".join(chunk.data for chunk in emitter_for(kind).chunks(reply))


def test_json_body_paths_carry_their_types_and_array_items_are_brackets() -> None:
    body = json.dumps({"id": "x", "n": 1.5, "ok": True, "none": None, "items": [{"a": 1}, 2]})
    shape = response_shape(200, {"content-type": "application/json"}, body.encode())
    assert shape.events == [BODY_EVENT]
    assert shape.fields[BODY_EVENT] == {
        "": {"object"},
        "id": {"string"},
        "n": {"number"},
        "ok": {"boolean"},
        "none": {"null"},
        "items": {"array"},
        "items[]": {"object", "number"},
        "items[].a": {"number"},
    }


def test_sse_events_are_named_by_event_line_then_type_then_object() -> None:
    body = (
        b'event: ping\ndata: {"type": "not-used"}\n\n'
        b'data: {"type": "response.created"}\n\n'
        b'data: {"object": "chat.completion.chunk"}\n\n'
        b"data: [DONE]\n\n"
    )
    shape = response_shape(200, SSE, body)
    assert shape.events == ["ping", "response.created", "chat.completion.chunk", "message"]
    assert shape.fields["message"] == {"": {NOT_JSON}}


def test_paths_of_one_event_type_merge_across_its_events() -> None:
    body = (
        b'data: {"object": "c", "choices": [{"delta": {"content": null}}]}\n\n'
        b'data: {"object": "c", "choices": [{"delta": {"content": "a"}}], "usage": {"n": 1}}\n\n'
    )
    fields = response_shape(200, SSE, body).fields["c"]
    assert fields["choices[].delta.content"] == {"null", "string"}
    assert fields["usage.n"] == {"number"}


def test_only_allowlisted_headers_count_and_content_encoding_does_not() -> None:
    headers = [
        ("content-type", "application/json"),
        ("x-ratelimit-remaining-tokens", "9"),
        ("content-encoding", "gzip"),
        ("set-cookie", "a=b"),
        ("date", "today"),
    ]
    shape = response_shape(200, headers, b"{}")
    assert shape.headers == {"content-type", "x-ratelimit-remaining-tokens"}


def test_openai_stream_shape() -> None:
    shape = response_shape(200, SSE, stream_of("openai"))
    assert shape.events == ["chat.completion.chunk", "message"]
    fields = shape.fields["chat.completion.chunk"]
    assert fields["choices[].delta.tool_calls[].function.arguments"] == {"string"}
    assert fields["usage.prompt_tokens"] == {"number"}


def test_anthropic_stream_events_are_its_event_lines() -> None:
    shape = response_shape(200, SSE, stream_of("anthropic"))
    assert shape.events[0] == "message_start"
    assert shape.events[-1] == "message_stop"
    assert shape.fields["content_block_delta"]["delta.partial_json"] == {"string"}


def test_responses_stream_events_are_its_event_lines() -> None:
    shape = response_shape(200, SSE, stream_of("openai-responses"))
    assert "response.output_text.delta" in shape.events
    assert shape.fields["response.completed"]["response.usage.output_tokens"] == {"number"}


def test_gemini_sse_stream_events_are_unnamed_json_chunks() -> None:
    shape = response_shape(200, SSE, stream_of("gemini"))
    assert shape.events == ["message"]
    assert "candidates[].content.parts[].functionCall.args.city" in shape.fields["message"]


def test_bedrock_event_stream_frames_are_named_by_their_event_type() -> None:
    headers = {"content-type": "application/vnd.amazon.eventstream"}
    shape = response_shape(200, headers, stream_of("bedrock"))
    assert shape.events == [
        "messageStart",
        "contentBlockDelta",
        "contentBlockStop",
        "contentBlockStart",
        "messageStop",
        "metadata",
    ]
    assert shape.fields["metadata"]["usage.outputTokens"] == {"number"}


def test_a_body_that_is_not_an_event_stream_is_named_so() -> None:
    headers = {"content-type": "application/vnd.amazon.eventstream"}
    shape = response_shape(200, headers, b"\x00\x00\x00\x05garbage-garbage")
    assert shape.events == ["(not an event stream)"]


def test_values_never_enter_a_shape() -> None:
    body = json.dumps({"secret_value": "canary-value-in-body"}).encode()
    shape = response_shape(200, {"content-type": "application/json"}, body)
    assert "canary-value-in-body" not in repr(shape)
