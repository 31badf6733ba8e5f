"""The Anthropic Messages codec: request building, parsing, streaming and errors, on bytes alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from factories import make_model, make_provider
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_llmbench import errors
from pytest_llmbench.providers import codec_for
from pytest_llmbench.providers.anthropic import AnthropicCodec, messages_url
from pytest_llmbench.strategies import (
    splits,
)
from pytest_llmbench.types import Completion, Message, Request, StreamEvent, ToolCall, ToolSpec

FIXTURES = Path(__file__).parent.parent / "fixtures" / "anthropic"
STREAMS = ["stream_text.sse", "stream_tool_use.sse", "stream_thinking.sse"]
KEY = "canary-ant-test-0000000000000000"
URL = "https://api.anthropic.com/v1/messages"

MODEL = make_model(
    id="claude-sonnet-4-5",
    context_window=200_000,
    max_output_tokens=64_000,
    input_per_mtok=3.0,
    output_per_mtok=15.0,
)
BARE_MODEL = make_model(id="local", max_output_tokens=None, input_per_mtok=0.0, output_per_mtok=0.0)
PROVIDER = make_provider("anthropic", model=MODEL, api_key_env="ANTHROPIC_API_KEY")
WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather in a city",
    parameters={
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    },
)


@pytest.fixture
def codec() -> AnthropicCodec:
    return AnthropicCodec()


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


def ask(text: str = "Hi", **kwargs: Any) -> Request:
    return Request(messages=[Message(role="user", content=text)], **kwargs)


def body_of(request: httpx.Request) -> dict[str, Any]:
    data = json.loads(request.content)
    assert isinstance(data, dict)
    return data


def build(codec: AnthropicCodec, request: Request, **kwargs: Any) -> httpx.Request:
    provider = kwargs.pop("provider", PROVIDER)
    model = kwargs.pop("model", MODEL)
    return codec.build_request(request, model, provider, api_key=kwargs.pop("api_key", KEY))


def decode_all(codec: AnthropicCodec, chunks: list[bytes]) -> list[StreamEvent]:
    decoder = codec.stream_decoder()
    events: list[StreamEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events


def one_byte_chunks(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def sse(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def message_start(usage: dict[str, Any] | None = None) -> bytes:
    message: dict[str, Any] = {
        "id": "msg_x",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [],
    }
    if usage is not None:
        message["usage"] = usage
    return sse("message_start", {"type": "message_start", "message": message})


def message_end(reason: str = "end_turn", output_tokens: int = 3) -> bytes:
    return sse(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        },
    ) + sse("message_stop", {"type": "message_stop"})


# -- build_request --------------------------------------------------------------------------


def test_url_is_v1_messages_under_the_base_url(codec: AnthropicCodec) -> None:
    request = build(codec, ask())
    assert request.method == "POST"
    assert str(request.url) == URL


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://api.anthropic.com", URL),
        ("https://api.anthropic.com/", URL),
        ("https://api.anthropic.com/v1", URL),
        ("https://api.anthropic.com/v1/", URL),
        ("http://localhost:8080", "http://localhost:8080/v1/messages"),
        ("https://gw.example/anthropic", "https://gw.example/anthropic/v1/messages"),
    ],
)
def test_url_appends_only_messages_when_base_url_ends_with_v1(base_url: str, expected: str) -> None:
    assert messages_url(base_url) == expected


def test_api_key_goes_in_x_api_key_with_the_api_version(codec: AnthropicCodec) -> None:
    request = build(codec, ask())
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["content-type"] == "application/json"
    assert "authorization" not in request.headers


def test_no_api_key_sends_no_auth_header(codec: AnthropicCodec) -> None:
    request = build(codec, ask(), api_key=None)
    assert "x-api-key" not in request.headers


def test_provider_headers_override_the_api_version_and_add_betas(codec: AnthropicCodec) -> None:
    provider = PROVIDER.model_copy(
        update={"headers": {"Anthropic-Version": "2099-01-01", "anthropic-beta": "x-2025"}}
    )
    request = build(codec, ask(), provider=provider)
    assert request.headers.get_list("anthropic-version") == ["2099-01-01"]
    assert request.headers["anthropic-beta"] == "x-2025"


def test_body_has_model_max_tokens_and_messages(codec: AnthropicCodec) -> None:
    body = body_of(build(codec, ask("Hello", max_tokens=50)))
    assert body == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "Hello"}],
    }


def test_max_tokens_defaults_to_the_models_max_output_tokens(codec: AnthropicCodec) -> None:
    assert body_of(build(codec, ask()))["max_tokens"] == 64_000


def test_max_tokens_falls_back_to_1024_without_a_model_limit(codec: AnthropicCodec) -> None:
    assert body_of(build(codec, ask(), model=BARE_MODEL))["max_tokens"] == 1024


def test_system_messages_become_the_top_level_system_field(codec: AnthropicCodec) -> None:
    request = Request(
        messages=[
            Message(role="system", content="Be brief."),
            Message(role="system", content="Answer in French."),
            Message(role="user", content="Hi"),
        ]
    )
    body = body_of(build(codec, request))
    assert body["system"] == "Be brief.\n\nAnswer in French."
    assert body["messages"] == [{"role": "user", "content": "Hi"}]


def test_no_system_field_without_system_messages(codec: AnthropicCodec) -> None:
    assert "system" not in body_of(build(codec, ask()))


def test_sampling_fields_and_stop_sequences(codec: AnthropicCodec) -> None:
    body = body_of(build(codec, ask(temperature=0.2, top_p=0.9, stop=["END", "###"])))
    assert body["temperature"] == 0.2
    assert body["top_p"] == 0.9
    assert body["stop_sequences"] == ["END", "###"]
    assert "stop" not in body


def test_unset_optional_fields_are_not_sent(codec: AnthropicCodec) -> None:
    body = body_of(build(codec, ask()))
    for name in ("temperature", "top_p", "stop_sequences", "tools", "tool_choice", "stream"):
        assert name not in body


def test_seed_is_not_sent_because_the_messages_api_has_none(codec: AnthropicCodec) -> None:
    assert "seed" not in body_of(build(codec, ask(seed=42)))


def test_tools_are_sent_with_input_schema(codec: AnthropicCodec) -> None:
    body = body_of(build(codec, ask(tools=[WEATHER])))
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "Current weather in a city",
            "input_schema": WEATHER.parameters,
        }
    ]


@pytest.mark.parametrize(
    ("choice", "wire"), [("auto", "auto"), ("required", "any"), ("none", "none")]
)
def test_tool_choice_maps_to_anthropic_types(codec: AnthropicCodec, choice: str, wire: str) -> None:
    body = body_of(build(codec, ask(tools=[WEATHER], tool_choice=choice)))
    assert body["tool_choice"] == {"type": wire}


def test_tool_choice_without_tools_is_not_sent(codec: AnthropicCodec) -> None:
    assert "tool_choice" not in body_of(build(codec, ask(tool_choice="none")))


def test_response_schema_becomes_output_config_json_schema(codec: AnthropicCodec) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    }
    body = body_of(build(codec, ask(response_schema=schema, response_schema_name="place")))
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert "tools" not in body


def test_tool_calls_and_results_become_content_blocks(codec: AnthropicCodec) -> None:
    request = Request(
        messages=[
            Message(role="user", content="Weather in Paris and Tokyo?"),
            Message(
                role="assistant",
                content="Checking.",
                tool_calls=[
                    ToolCall(id="toolu_1", name="get_weather", arguments={"location": "Paris"}),
                    ToolCall(id="toolu_2", name="get_weather", arguments={"location": "Tokyo"}),
                ],
            ),
            Message(role="tool", tool_call_id="toolu_1", content="18C"),
            Message(role="tool", tool_call_id="toolu_2", content="25C"),
            Message(role="user", content="Thanks"),
        ],
        tools=[WEATHER],
    )
    assert body_of(build(codec, request))["messages"] == [
        {"role": "user", "content": "Weather in Paris and Tokyo?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                 "input": {"location": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_weather",
                 "input": {"location": "Tokyo"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "25C"},
            ],
        },
        {"role": "user", "content": "Thanks"},
    ]  # fmt: skip


def test_assistant_tool_call_without_text_has_only_tool_use_blocks(codec: AnthropicCodec) -> None:
    request = Request(
        messages=[
            Message(role="user", content="Weather?"),
            Message(role="assistant", tool_calls=[ToolCall(id="t", name="get_weather")]),
            Message(role="tool", tool_call_id="t", content=""),
        ]
    )
    messages = body_of(build(codec, request))["messages"]
    assert messages[1]["content"] == [
        {"type": "tool_use", "id": "t", "name": "get_weather", "input": {}}
    ]
    assert messages[2]["content"] == [{"type": "tool_result", "tool_use_id": "t"}]


def test_content_parts_pass_through_unchanged(codec: AnthropicCodec) -> None:
    parts = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA=="}},
        {"type": "text", "text": "What is this?"},
    ]
    body = body_of(build(codec, Request(messages=[Message(role="user", content=parts)])))
    assert body["messages"] == [{"role": "user", "content": parts}]


def test_streaming_sets_stream_and_accepts_event_stream(codec: AnthropicCodec) -> None:
    request = build(codec, ask(stream=True))
    assert body_of(request)["stream"] is True
    assert request.headers["accept"] == "text/event-stream"


def test_non_streaming_accepts_json(codec: AnthropicCodec) -> None:
    assert build(codec, ask()).headers["accept"] == "application/json"


def test_extra_is_merged_last(codec: AnthropicCodec) -> None:
    extra = {"max_tokens": 7, "top_k": 5, "thinking": {"type": "enabled", "budget_tokens": 2048}}
    body = body_of(build(codec, ask(max_tokens=100, extra=extra)))
    assert body["max_tokens"] == 7
    assert body["top_k"] == 5
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}


def test_codec_is_registered_for_the_anthropic_kind() -> None:
    assert isinstance(codec_for("anthropic"), AnthropicCodec)


# -- non-streamed responses -----------------------------------------------------------------


def test_text_answer_with_cache_usage(codec: AnthropicCodec) -> None:
    completion = codec.parse_response(200, {}, fixture_bytes("message_text.json"))
    assert completion.id == "msg_01SyntheticText000000000"
    assert completion.model == "claude-sonnet-4-5"
    assert completion.text == "Paris is the capital of France."
    assert completion.finish_reason == "stop"
    assert completion.raw_finish_reason == "end_turn"
    assert completion.usage is not None
    # input = uncached 12 + cache writes 100 + cache reads 2048
    assert completion.usage.input_tokens == 2160
    assert completion.usage.cached_input_tokens == 2048
    assert completion.usage.output_tokens == 9
    assert completion.usage.reasoning_tokens is None
    assert completion.raw == fixture_json("message_text.json")


def test_tool_use_answer_has_parsed_arguments(codec: AnthropicCodec) -> None:
    completion = codec.parse_response(200, {}, fixture_bytes("message_tool_use.json"))
    assert completion.text == "I'll check both cities."
    assert completion.finish_reason == "tool_calls"
    assert completion.raw_finish_reason == "tool_use"
    assert [(c.id, c.name, c.arguments) for c in completion.tool_calls] == [
        (
            "toolu_01SyntheticParis00000",
            "get_weather",
            {"location": "Paris, FR", "unit": "celsius"},
        ),
        ("toolu_01SyntheticTokyo00000", "get_weather", {"location": "Tokyo, JP"}),
    ]
    assert json.loads(completion.tool_calls[0].raw_arguments) == completion.tool_calls[0].arguments
    assert completion.usage is not None
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (472, 89)
    assert completion.usage.cached_input_tokens is None


def test_thinking_is_reasoning_and_redacted_thinking_is_dropped(codec: AnthropicCodec) -> None:
    completion = codec.parse_response(200, {}, fixture_bytes("message_thinking.json"))
    assert completion.reasoning == "27 * 453 = 27 * 400 + 27 * 53 = 10800 + 1431."
    assert completion.text == "27 * 453 = 12231"
    assert completion.finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.reasoning_tokens == 50
    assert completion.usage.cached_input_tokens == 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "other"),
        ("something_new", "other"),
    ],
)
def test_stop_reasons_are_normalised(codec: AnthropicCodec, raw: str, expected: str) -> None:
    body = {"content": [{"type": "text", "text": "x"}], "stop_reason": raw}
    completion = codec.completion_from_json(body)
    assert completion.finish_reason == expected
    assert completion.raw_finish_reason == raw


def test_minimal_body_without_optional_fields_is_accepted(codec: AnthropicCodec) -> None:
    completion = codec.parse_response(200, {}, b'{"content": [{"type": "text", "text": "hi"}]}')
    assert completion.text == "hi"
    assert completion.id == ""
    assert completion.usage is None
    assert completion.finish_reason == "other"
    assert completion.raw_finish_reason is None


def test_unknown_and_server_tool_blocks_carry_no_output(codec: AnthropicCodec) -> None:
    body = {
        "content": [
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
            {"type": "text", "text": "Found it."},
            "not a block",
        ],
        "stop_reason": "end_turn",
    }
    completion = codec.completion_from_json(body)
    assert completion.text == "Found it."
    assert completion.tool_calls == []


@pytest.mark.parametrize("body", [b"{}", b"[]", b'{"content": 3}', b'"text"'])
def test_body_without_a_content_list_is_malformed(codec: AnthropicCodec, body: bytes) -> None:
    with pytest.raises(errors.MalformedResponseError):
        codec.parse_response(200, {}, body)


def test_non_json_body_is_malformed(codec: AnthropicCodec) -> None:
    with pytest.raises(errors.MalformedResponseError):
        codec.parse_response(200, {}, b"<html>oops</html>")


def test_error_body_with_status_200_raises_the_error(codec: AnthropicCodec) -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with pytest.raises(errors.ServerError) as info:
        codec.parse_response(200, {}, json.dumps(body).encode())
    assert info.value.code == "overloaded_error"


def test_round_trip_through_an_httpx_client(codec: AnthropicCodec) -> None:
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(URL).mock(
            return_value=httpx.Response(200, content=fixture_bytes("message_tool_use.json"))
        )
        with httpx.Client() as client:
            response = client.send(build(codec, ask(tools=[WEATHER])))
        sent = route.calls.last.request
    assert sent.headers["x-api-key"] == KEY
    assert body_of(sent)["tools"][0]["name"] == "get_weather"
    completion = codec.parse_response(response.status_code, response.headers, response.content)
    assert completion.tool_calls[1].arguments == {"location": "Tokyo, JP"}


# -- streamed responses ---------------------------------------------------------------------


def test_stream_text_event_sequence(codec: AnthropicCodec) -> None:
    events = decode_all(codec, [fixture_bytes("stream_text.sse")])
    assert [(e.type, e.text) for e in events] == [
        ("start", ""),
        ("usage", ""),
        ("keepalive", ""),
        ("text", "Héllo"),
        ("text", ", 世界"),
        ("keepalive", ""),
        ("text", " 👋!"),
        ("usage", ""),
        ("finish", ""),
    ]
    assert (events[0].id, events[0].model) == ("msg_01SyntheticStreamText0", "claude-sonnet-4-5")
    assert events[-1].finish_reason == "stop"
    assert events[-1].raw_finish_reason == "end_turn"


def test_stream_text_completion(codec: AnthropicCodec) -> None:
    completion = codec.parse_stream(200, {}, [fixture_bytes("stream_text.sse")])
    assert completion.id == "msg_01SyntheticStreamText0"
    assert completion.text == "Héllo, 世界 👋!"
    assert completion.finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.input_tokens == 25 + 1024
    assert completion.usage.cached_input_tokens == 1024
    assert completion.usage.output_tokens == 15  # cumulative count from message_delta


def test_stream_tool_calls_are_assembled_with_parsed_arguments(codec: AnthropicCodec) -> None:
    completion = codec.parse_stream(200, {}, [fixture_bytes("stream_tool_use.sse")])
    assert completion.text == "Okay, let's check the weather:"
    assert completion.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in completion.tool_calls] == [
        (
            "toolu_01SyntheticParis00000",
            "get_weather",
            {"location": "Paris, FR", "unit": "celsius"},
        ),
        ("toolu_01SyntheticTokyo00000", "get_weather", {"location": "Tokyo, JP"}),
    ]
    assert completion.usage is not None
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (472, 89)


def test_stream_tool_call_index_counts_tool_blocks_only(codec: AnthropicCodec) -> None:
    events = decode_all(codec, [fixture_bytes("stream_tool_use.sse")])
    calls = [e for e in events if e.type == "tool_call"]
    assert calls[0].index == 0 and calls[0].id == "toolu_01SyntheticParis00000"
    assert calls[0].name == "get_weather"
    assert {e.index for e in calls} == {0, 1}
    assert all(e.text for e in calls[1:] if not e.name)  # empty partial_json is not an event


def test_stream_thinking_is_reasoning_and_the_signature_is_not_output(
    codec: AnthropicCodec,
) -> None:
    events = decode_all(codec, [fixture_bytes("stream_thinking.sse")])
    assert [e.text for e in events if e.type == "reasoning"] == [
        "27 * 453 = 27 * 400",
        " + 27 * 53 = 12231.",
    ]
    assert all("c3ludGhldGlj" not in e.text for e in events)
    completion = codec.parse_stream(200, {}, [fixture_bytes("stream_thinking.sse")])
    assert completion.reasoning == "27 * 453 = 27 * 400 + 27 * 53 = 12231."
    assert completion.text == "27 * 453 = 12231"
    assert completion.usage is not None
    assert completion.usage.reasoning_tokens == 50


@pytest.mark.parametrize("name", STREAMS)
def test_stream_split_into_single_bytes_decodes_the_same(codec: AnthropicCodec, name: str) -> None:
    data = fixture_bytes(name)
    assert decode_all(codec, one_byte_chunks(data)) == decode_all(codec, [data])
    assert codec.parse_stream(200, {}, one_byte_chunks(data)) == codec.parse_stream(200, {}, [data])


@pytest.mark.parametrize("name", STREAMS)
def test_stream_with_crlf_line_endings_decodes_the_same(codec: AnthropicCodec, name: str) -> None:
    data = fixture_bytes(name)
    crlf = data.replace(b"\n", b"\r\n")
    assert decode_all(codec, one_byte_chunks(crlf)) == decode_all(codec, [data])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_stream_split_anywhere_decodes_the_same(data: st.DataObject) -> None:
    codec = AnthropicCodec()
    body = fixture_bytes(data.draw(st.sampled_from(STREAMS), label="fixture"))
    chunks = data.draw(splits(body), label="chunks")
    assert decode_all(codec, chunks) == decode_all(codec, [body])
    assert codec.parse_stream(200, {}, chunks) == codec.parse_stream(200, {}, [body])


@pytest.mark.parametrize("name", STREAMS)
def test_stream_cut_before_message_stop_is_interrupted(codec: AnthropicCodec, name: str) -> None:
    data = fixture_bytes(name)
    cut = data[: data.index(b"event: message_stop")]
    with pytest.raises(errors.StreamInterruptedError):
        codec.parse_stream(200, {}, [cut])


def test_stream_cut_mid_event_is_interrupted(codec: AnthropicCodec) -> None:
    data = fixture_bytes("stream_text.sse")
    with pytest.raises(errors.StreamInterruptedError):
        codec.parse_stream(200, {}, [data[: len(data) // 2]])


def test_empty_stream_is_interrupted(codec: AnthropicCodec) -> None:
    with pytest.raises(errors.StreamInterruptedError):
        codec.parse_stream(200, {}, [])


def test_stream_error_event_raises_server_error(codec: AnthropicCodec) -> None:
    with pytest.raises(errors.ServerError) as info:
        codec.parse_stream(200, {}, [fixture_bytes("stream_error.sse")])
    assert info.value.code == "overloaded_error"
    assert info.value.message == "Overloaded"
    assert info.value.status is None
    assert info.value.retryable


def test_stream_error_event_is_an_error_event_and_ends_the_stream(codec: AnthropicCodec) -> None:
    events = decode_all(codec, one_byte_chunks(fixture_bytes("stream_error.sse")))
    assert [e.type for e in events][-2:] == ["text", "error"]
    assert isinstance(events[-1].error, errors.ServerError)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"type": "overloaded_error", "message": "Overloaded"}, errors.ServerError),
        ({"type": "api_error", "message": "Internal server error"}, errors.ServerError),
        ({"type": "rate_limit_error", "message": "Rate limited"}, errors.RateLimitError),
        (
            {"type": "invalid_request_error", "message": "prompt is too long: 208000 tokens > 200000 maximum"},
            errors.ContextLengthExceededError,
        ),
        ({"type": "invalid_request_error", "message": "bad"}, errors.InvalidRequestError),
        ({"type": "authentication_error", "message": "invalid x-api-key"}, errors.AuthenticationError),
        ({"type": "something_new", "message": "?"}, errors.ProviderError),
    ],
)  # fmt: skip
def test_stream_error_types_map_to_the_taxonomy(
    codec: AnthropicCodec, error: dict[str, str], expected: type[errors.ProviderError]
) -> None:
    body = message_start() + sse("error", {"type": "error", "error": error})
    with pytest.raises(expected) as info:
        codec.parse_stream(200, {}, [body])
    assert type(info.value) is expected


def test_stream_pings_and_comments_are_keepalives(codec: AnthropicCodec) -> None:
    body = b": keep-alive\n\n" + message_start() + b"event: ping\ndata: {}\n\n" + message_end()
    events = decode_all(codec, [body])
    assert [e.type for e in events].count("keepalive") == 2
    assert not any(e.is_output for e in events)


def test_stream_unknown_events_and_deltas_are_ignored(codec: AnthropicCodec) -> None:
    body = (
        message_start()
        + sse("brand_new_event", {"type": "brand_new_event", "x": 1})
        + sse("content_block_start", {"type": "content_block_start", "index": 0,
                                      "content_block": {"type": "text", "text": ""}})
        + sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                      "delta": {"type": "citations_delta", "citation": {}}})
        + sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                      "delta": {"type": "text_delta", "text": "ok"}})
        + sse("content_block_stop", {"type": "content_block_stop", "index": 0})
        + message_end()
    )  # fmt: skip
    assert codec.parse_stream(200, {}, [body]).text == "ok"


def test_stream_server_tool_input_is_not_a_tool_call(codec: AnthropicCodec) -> None:
    body = (
        message_start()
        + sse("content_block_start", {"type": "content_block_start", "index": 0,
              "content_block": {"type": "server_tool_use", "id": "srvtoolu_1",
                                "name": "web_search", "input": {}}})
        + sse("content_block_delta", {"type": "content_block_delta", "index": 0,
              "delta": {"type": "input_json_delta", "partial_json": "{\"query\": \"x\"}"}})
        + sse("content_block_stop", {"type": "content_block_stop", "index": 0})
        + message_end()
    )  # fmt: skip
    assert codec.parse_stream(200, {}, [body]).tool_calls == []


def test_stream_whole_blocks_sent_in_content_block_start_are_kept(codec: AnthropicCodec) -> None:
    body = (
        message_start({"input_tokens": 10, "output_tokens": 0})
        + sse("content_block_start", {"type": "content_block_start", "index": 0,
              "content_block": {"type": "thinking", "thinking": "hmm"}})
        + sse("content_block_stop", {"type": "content_block_stop", "index": 0})
        + sse("content_block_start", {"type": "content_block_start", "index": 1,
              "content_block": {"type": "text", "text": "answer"}})
        + sse("content_block_stop", {"type": "content_block_stop", "index": 1})
        + sse("content_block_start", {"type": "content_block_start", "index": 2,
              "content_block": {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}})
        + sse("content_block_stop", {"type": "content_block_stop", "index": 2})
        + message_end("tool_use", 7)
    )  # fmt: skip
    completion = codec.parse_stream(200, {}, [body])
    assert completion.reasoning == "hmm"
    assert completion.text == "answer"
    assert [(c.id, c.name, c.arguments) for c in completion.tool_calls] == [("t1", "f", {"a": 1})]


def test_stream_llama_cpp_shape_without_input_and_late_block_stops(codec: AnthropicCodec) -> None:
    # llama.cpp's /v1/messages: tool_use starts carry no `input`, every block closes at the end.
    body = (
        message_start({"input_tokens": 9, "output_tokens": 0})
        + sse("content_block_start", {"type": "content_block_start", "index": 0,
              "content_block": {"type": "text", "text": ""}})
        + sse("content_block_delta", {"type": "content_block_delta", "index": 0,
              "delta": {"type": "text_delta", "text": "Calling."}})
        + sse("content_block_start", {"type": "content_block_start", "index": 1,
              "content_block": {"type": "tool_use", "id": "call_1", "name": "f"}})
        + sse("content_block_delta", {"type": "content_block_delta", "index": 1,
              "delta": {"type": "input_json_delta", "partial_json": "{\"a\": 2}"}})
        + sse("content_block_stop", {"type": "content_block_stop", "index": 0})
        + sse("content_block_stop", {"type": "content_block_stop", "index": 1})
        + message_end("tool_use", 12)
    )  # fmt: skip
    completion = codec.parse_stream(200, {}, one_byte_chunks(body))
    assert completion.text == "Calling."
    assert [(c.id, c.arguments) for c in completion.tool_calls] == [("call_1", {"a": 2})]
    assert completion.usage is not None
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (9, 12)


def test_stream_cumulative_usage_in_message_delta_keeps_earlier_fields(
    codec: AnthropicCodec,
) -> None:
    body = (
        message_start({"input_tokens": 5, "cache_read_input_tokens": 100, "output_tokens": 1})
        + sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
              "usage": {"input_tokens": 5, "output_tokens": 20}})
        + sse("message_stop", {"type": "message_stop"})
    )  # fmt: skip
    completion = codec.parse_stream(200, {}, [body])
    assert completion.usage is not None
    assert completion.usage.input_tokens == 105
    assert completion.usage.cached_input_tokens == 100
    assert completion.usage.output_tokens == 20


def test_stream_without_usage_has_no_usage(codec: AnthropicCodec) -> None:
    body = (
        message_start()
        + sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}})
        + sse("message_stop", {"type": "message_stop"})
    )
    completion = codec.parse_stream(200, {}, [body])
    assert completion.usage is None
    assert completion.finish_reason == "stop"


def test_stream_events_after_message_stop_are_ignored(codec: AnthropicCodec) -> None:
    body = (
        message_start()
        + message_end()
        + sse(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "x"},
            },
        )
    )
    assert codec.parse_stream(200, {}, [body]).text == ""


@pytest.mark.parametrize(
    "line", [b"data: not json\n\n", b"data: [1, 2]\n\n", b"event: message_start\ndata: {\n\n"]
)
def test_stream_data_that_is_not_a_json_object_is_malformed(
    codec: AnthropicCodec, line: bytes
) -> None:
    with pytest.raises(errors.MalformedResponseError):
        codec.parse_stream(200, {}, [message_start() + line])


def test_stream_error_status_raises_the_error_before_decoding(codec: AnthropicCodec) -> None:
    body = json.dumps(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    with pytest.raises(errors.ServerError) as info:
        codec.parse_stream(529, {}, [body.encode()])
    assert info.value.status == 529


def test_stream_round_trip_through_an_httpx_client(codec: AnthropicCodec) -> None:
    data = fixture_bytes("stream_tool_use.sse")
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(URL).mock(
            return_value=httpx.Response(
                200,
                headers={"content-type": "text/event-stream"},
                stream=httpx.ByteStream(data),
            )
        )
        with httpx.Client() as client:
            response = client.send(build(codec, ask(stream=True, tools=[WEATHER])), stream=True)
            try:
                completion = codec.parse_stream(
                    response.status_code, response.headers, response.iter_raw()
                )
            finally:
                response.close()
        assert body_of(route.calls.last.request)["stream"] is True
    assert completion.finish_reason == "tool_calls"
    assert len(completion.tool_calls) == 2


# -- error responses ------------------------------------------------------------------------


def anthropic_error(kind: str, message: str) -> bytes:
    body = {
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": "req_011CSyntheticRequestId0",
    }
    return json.dumps(body).encode()


ERROR_CASES = [
    (400, "invalid_request_error", "messages: roles must alternate between \"user\" and \"assistant\"",
     errors.InvalidRequestError),
    (400, "invalid_request_error", "prompt is too long: 208000 tokens > 200000 maximum",
     errors.ContextLengthExceededError),
    (400, "invalid_request_error",
     "input length and `max_tokens` exceed context limit: 197000 + 8192 > 200000, decrease input "
     "length or `max_tokens` and try again", errors.ContextLengthExceededError),
    (400, "invalid_request_error", "Output blocked by content filtering policy",
     errors.ContentFilterError),
    (401, "authentication_error", "invalid x-api-key", errors.AuthenticationError),
    (402, "billing_error", "Your credit balance is too low", errors.PermissionDeniedError),
    (403, "permission_error", "Your API key does not have permission to use the specified resource.",
     errors.PermissionDeniedError),
    (404, "not_found_error", "model: claude-nonexistent", errors.ModelNotFoundError),
    (413, "request_too_large", "Request exceeds the maximum allowed number of bytes.",
     errors.ContextLengthExceededError),
    (429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit",
     errors.RateLimitError),
    (500, "api_error", "Internal server error", errors.ServerError),
    (503, "api_error", "Service unavailable", errors.ServerError),
    (529, "overloaded_error", "Overloaded", errors.ServerError),
]  # fmt: skip


@pytest.mark.parametrize(("status", "kind", "message", "expected"), ERROR_CASES)
def test_error_status_and_body_map_to_the_taxonomy(
    codec: AnthropicCodec,
    status: int,
    kind: str,
    message: str,
    expected: type[errors.ProviderError],
) -> None:
    with pytest.raises(expected) as info:
        codec.parse_response(status, {}, anthropic_error(kind, message))
    error = info.value
    assert type(error) is expected
    assert error.status == status
    assert error.code == kind
    assert error.message == message
    assert error.provider == "anthropic"


def test_rate_limit_carries_retry_after(codec: AnthropicCodec) -> None:
    headers = {"retry-after": "17", "anthropic-ratelimit-requests-remaining": "0"}
    error = codec.parse_error(429, headers, anthropic_error("rate_limit_error", "Rate limited"))
    assert isinstance(error, errors.RateLimitError)
    assert error.retry_after == 17.0
    assert error.retryable


def test_overloaded_529_is_retryable(codec: AnthropicCodec) -> None:
    error = codec.parse_error(529, {}, anthropic_error("overloaded_error", "Overloaded"))
    assert isinstance(error, errors.ServerError)
    assert error.retryable
    assert error.retry_after is None


def test_html_error_page_from_a_proxy_uses_the_page_title(codec: AnthropicCodec) -> None:
    page = (
        b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
        b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center>"
        b"</body></html>"
    )
    error = codec.parse_error(502, {"content-type": "text/html"}, page)
    assert isinstance(error, errors.ServerError)
    assert error.message == "502 Bad Gateway"
    assert error.code is None


def test_html_403_page_is_permission_denied(codec: AnthropicCodec) -> None:
    page = b"<html><head><title>403 Forbidden</title></head><body>nope</body></html>"
    error = codec.parse_error(403, {}, page)
    assert type(error) is errors.PermissionDeniedError
    assert error.message == "403 Forbidden"


def test_empty_error_body_names_the_status(codec: AnthropicCodec) -> None:
    error = codec.parse_error(500, {}, b"")
    assert isinstance(error, errors.ServerError)
    assert "500" in error.message


def test_openai_style_error_body_from_llama_cpp(codec: AnthropicCodec) -> None:
    body = {
        "error": {
            "code": 400,
            "message": "request (9412 tokens) exceeds the available context size (8192 tokens), "
            "try increasing it",
            "type": "exceed_context_size_error",
            "n_prompt_tokens": 9412,
            "n_ctx": 8192,
        }
    }
    error = codec.parse_error(400, {}, json.dumps(body).encode())
    assert isinstance(error, errors.ContextLengthExceededError)
    assert error.code == "exceed_context_size_error"


def test_error_message_never_shows_the_key(
    codec: AnthropicCodec, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_llmbench import secrets

    secret = "canary-ant-api03-very-secret-value-000000"
    monkeypatch.setenv("LLMBENCH_TEST_ANTHROPIC_KEY", secret)
    secrets.register("LLMBENCH_TEST_ANTHROPIC_KEY", secret)
    error = codec.parse_error(401, {}, anthropic_error("authentication_error", f"bad key {secret}"))
    assert secret not in str(error)
    assert secret not in repr(error)


def test_error_round_trip_through_an_httpx_client(codec: AnthropicCodec) -> None:
    with respx.mock(assert_all_called=True) as mock:
        mock.post(URL).mock(
            return_value=httpx.Response(
                429,
                headers={"retry-after": "3"},
                content=anthropic_error("rate_limit_error", "Rate limited"),
            )
        )
        with httpx.Client() as client:
            response = client.send(build(codec, ask()))
    with pytest.raises(errors.RateLimitError) as info:
        codec.parse_response(response.status_code, response.headers, response.content)
    assert info.value.retry_after == 3.0


# -- robustness against garbage -------------------------------------------------------------

ALLOWED = (errors.MalformedResponseError, errors.StreamInterruptedError)


def feed_all(codec: AnthropicCodec, chunks: list[bytes]) -> None:
    try:
        decode_all(codec, chunks)
    except ALLOWED:
        pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=12))
def test_random_bytes_only_raise_malformed_or_interrupted(chunks: list[bytes]) -> None:
    feed_all(AnthropicCodec(), chunks)


KEYS = [
    "type", "index", "delta", "content_block", "message", "usage", "text", "thinking",
    "partial_json", "stop_reason", "error", "input", "id", "name", "model", "input_tokens",
    "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens",
    "output_tokens_details", "thinking_tokens", "content", "signature",
]  # fmt: skip
TYPES = [
    "message_start", "content_block_start", "content_block_delta", "content_block_stop",
    "message_delta", "message_stop", "ping", "error", "text", "tool_use", "thinking",
    "text_delta", "input_json_delta", "thinking_delta", "signature_delta", "end_turn",
    "overloaded_error",
]  # fmt: skip
JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.sampled_from(TYPES)
    | st.text(max_size=8)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from([*TYPES[:8], "other"]),
            st.dictionaries(st.sampled_from(KEYS), JSON_VALUES, max_size=6),
        ),
        max_size=8,
    )
)
def test_random_well_framed_events_only_raise_malformed_or_interrupted(
    events: list[tuple[str, dict[str, Any]]],
) -> None:
    body = b"".join(sse(name, data) for name, data in events)
    codec = AnthropicCodec()
    try:
        codec.parse_stream(200, {}, [body])
    except ALLOWED:
        pass
    except errors.ProviderError:
        pass  # an `error` event raises its own taxonomy error, which is fine


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_random_response_bodies_only_raise_malformed(value: Any) -> None:
    codec = AnthropicCodec()
    try:
        result = codec.parse_response(200, {}, json.dumps(value).encode())
    except errors.MalformedResponseError:
        return
    except errors.ProviderError:
        return  # a body shaped like an error raises that error
    assert isinstance(result, Completion)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=400, max_value=599),
    st.binary(max_size=200) | JSON_VALUES.map(lambda v: json.dumps(v).encode()),
)
def test_any_error_body_gives_a_provider_error(status: int, body: bytes) -> None:
    error = AnthropicCodec().parse_error(status, {}, body)
    assert isinstance(error, errors.ProviderError)
    assert error.status == status
