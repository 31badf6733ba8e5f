"""OpenAI chat completions codec: requests, bodies, streams and errors (synthetic fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from factories import make_provider
from hypothesis import given
from hypothesis import strategies as st

from pytest_llmbench import errors
from pytest_llmbench.providers import codec_for
from pytest_llmbench.providers.openai import OpenAIChatCodec
from pytest_llmbench.strategies import (
    splits,
)
from pytest_llmbench.types import Message, Request, StreamEvent, ToolCall, ToolSpec

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openai"
codec = OpenAIChatCodec()
PROVIDER = make_provider("openai")
MODEL = PROVIDER.model()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def body_of(request: httpx.Request) -> dict[str, object]:
    data: dict[str, object] = json.loads(request.content)
    return data


def events_of(data: bytes, chunks: list[bytes] | None = None) -> list[StreamEvent]:
    decoder = codec.stream_decoder()
    events: list[StreamEvent] = []
    for chunk in chunks if chunks is not None else [data]:
        events += decoder.feed(chunk)
    return events + decoder.close()


def test_codec_for_kind_returns_this_codec() -> None:
    assert isinstance(codec_for("openai"), OpenAIChatCodec)
    with pytest.raises(ValueError, match="unknown provider kind 'nope'; known kinds: openai"):
        codec_for("nope")


def test_build_request_streams_with_usage_and_bearer_key() -> None:
    request = Request(messages=[{"role": "user", "content": "Hi"}], max_tokens=5, stream=True)
    http = codec.build_request(request, MODEL, PROVIDER, "sk-test-key")
    assert str(http.url) == "https://api.openai.com/v1/chat/completions"
    assert http.headers["authorization"] == "Bearer sk-test-key"
    assert body_of(http) == {
        "model": "test-model",
        "messages": [{"role": "user", "content": "Hi"}],
        "max_completion_tokens": 5,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_build_request_carries_every_option() -> None:
    request = Request(
        messages=[
            Message(role="system", content="Be brief."),
            Message(role="user", content="Weather?"),
            Message(
                role="assistant",
                tool_calls=[ToolCall(id="c1", name="get_weather", arguments={"city": "Oslo"})],
            ),
            Message(role="tool", tool_call_id="c1", content='{"temp": 3}'),
        ],
        temperature=0.2,
        top_p=0.9,
        stop="END",
        seed=7,
        tools=[ToolSpec(name="get_weather", parameters={"type": "object"})],
        tool_choice="required",
        response_schema={"type": "object"},
        response_schema_name="answer",
        extra={"logprobs": True},
    )
    body = body_of(codec.build_request(request, MODEL, PROVIDER))
    assert body["temperature"] == 0.2 and body["top_p"] == 0.9 and body["seed"] == 7
    assert body["stop"] == ["END"] and body["logprobs"] is True
    assert body["tool_choice"] == "required"
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "",
                "parameters": {"type": "object"},
            },
        }
    ]
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
    }
    messages = body["messages"]
    assert isinstance(messages, list)
    assert messages[0] == {"role": "system", "content": "Be brief."}
    assert messages[2]["content"] is None
    assert messages[2]["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": '{"city": "Oslo"}',
    }
    assert messages[3] == {"role": "tool", "content": '{"temp": 3}', "tool_call_id": "c1"}
    assert "stream" not in body


def test_compatible_server_gets_max_tokens_and_no_auth_without_key() -> None:
    local = make_provider("openai", base_url="http://127.0.0.1:8765/v1/", api_key_env=None)
    request = Request(messages=[{"role": "user", "content": "Hi"}], max_tokens=3)
    http = codec.build_request(request, local.model(), local)
    assert str(http.url) == "http://127.0.0.1:8765/v1/chat/completions"
    assert "authorization" not in http.headers
    assert body_of(http)["max_tokens"] == 3


def test_azure_uses_deployment_url_api_version_and_api_key_header() -> None:
    azure = make_provider(
        "openai", base_url="https://res.openai.azure.com", api_version="2024-10-21"
    )
    http = codec.build_request(
        Request(messages=[{"role": "user", "content": "Hi"}]), azure.model(), azure, "azkey123"
    )
    assert str(http.url) == (
        "https://res.openai.azure.com/openai/deployments/test-model/chat/completions"
        "?api-version=2024-10-21"
    )
    assert http.headers["api-key"] == "azkey123"
    assert "authorization" not in http.headers
    assert "model" not in body_of(http)


def test_extra_headers_from_config_are_sent() -> None:
    provider = make_provider("openai", headers={"x-team": "bench"})
    http = codec.build_request(Request(messages=[]), provider.model(), provider)
    assert http.headers["x-team"] == "bench"


def test_parse_response_tools_usage_and_choice_zero() -> None:
    completion = codec.parse_response(200, {}, fixture("completion_tools.json"))
    assert completion.finish_reason == "tool_calls"
    assert completion.raw_finish_reason == "tool_calls"
    assert completion.text == ""
    assert completion.tool_calls[0].name == "get_weather"
    assert completion.tool_calls[0].arguments == {"city": "Paris"}
    assert completion.usage is not None
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (40, 12)
    assert completion.usage.cached_input_tokens == 32
    assert completion.usage.reasoning_tokens == 4
    assert completion.raw["id"] == "chatcmpl-t"


def test_parse_response_mistral_content_parts() -> None:
    completion = codec.parse_response(200, {}, fixture("completion_mistral_parts.json"))
    assert completion.text == "Bonjour !"
    assert completion.finish_reason == "stop"


def test_parse_response_refusal_and_reasoning_content() -> None:
    body = {
        "id": "x",
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"content": "", "refusal": "I can't", "reasoning_content": "hmm"},
                "finish_reason": "stop",
            }
        ],
    }
    completion = codec.parse_response(200, {}, json.dumps(body).encode())
    assert completion.refusal == "I can't"
    assert completion.reasoning == "hmm"
    assert completion.usage is None


def test_parse_response_without_choices_is_malformed() -> None:
    with pytest.raises(errors.MalformedResponseError, match="no choices"):
        codec.parse_response(200, {}, b'{"id": "x"}')


def test_stream_text_with_keepalive_and_usage() -> None:
    events = events_of(fixture("stream_text.sse"))
    assert [e.type for e in events] == [
        "start", "keepalive", "text", "text", "finish", "usage",
    ]  # fmt: skip
    completion = codec.parse_stream(200, {}, [fixture("stream_text.sse")])
    assert completion.text == "Hello wörld"
    assert completion.id == "chatcmpl-1" and completion.model == "gpt-4o-mini"
    assert completion.finish_reason == "stop"
    assert completion.usage is not None and completion.usage.output_tokens == 3


def test_role_only_and_empty_deltas_are_not_output() -> None:
    events = events_of(fixture("stream_text.sse"))
    assert [e.text for e in events if e.is_output] == ["Hello", " wörld"]


def test_stream_tool_call_deltas_assembled_by_index() -> None:
    completion = codec.parse_stream(200, {}, [fixture("stream_tools.sse")])
    assert [(c.id, c.name, c.arguments) for c in completion.tool_calls] == [
        ("call_a", "get_weather", {"city": "Paris"}),
        ("call_b", "get_time", {}),
    ]
    assert completion.finish_reason == "tool_calls"


def test_stream_groq_usage_and_crlf() -> None:
    completion = codec.parse_stream(200, {}, [fixture("stream_groq.sse")])
    assert completion.text == "Hi"
    assert completion.finish_reason == "length"
    assert completion.usage is not None
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (12, 1)


def test_stream_of_server_without_usage_has_none() -> None:
    data = b'data: {"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}]}\n\n'
    assert codec.parse_stream(200, {}, [data]).usage is None


def test_other_choices_are_ignored_in_streams() -> None:
    data = (
        b'data: {"choices":[{"index":1,"delta":{"content":"B"}}]}\n\n'
        b'data: {"choices":[{"index":0,"delta":{"content":"A"},"finish_reason":"stop"}]}\n\n'
        b"data: [DONE]\n\n"
    )
    assert codec.parse_stream(200, {}, [data]).text == "A"


@pytest.mark.parametrize("name", ["stream_text.sse", "stream_tools.sse", "stream_groq.sse"])
@given(st.data())
def test_any_split_decodes_to_the_same_events(name: str, data: st.DataObject) -> None:
    body = fixture(name)
    chunks = data.draw(splits(body))
    assert events_of(body, chunks) == events_of(body)


def test_one_byte_chunks_decode_to_the_same_completion() -> None:
    data = fixture("stream_tools.sse")
    one_byte = codec.parse_stream(200, {}, [bytes([b]) for b in data])
    assert one_byte == codec.parse_stream(200, {}, [data])


def test_truncated_stream_is_interrupted() -> None:
    data = fixture("stream_text.sse")
    with pytest.raises(errors.StreamInterruptedError, match="without a finish_reason"):
        codec.parse_stream(200, {}, [data[: data.index(b'finish_reason":"stop')]])


def test_error_event_inside_200_stream_raises_taxonomy_error() -> None:
    data = (
        b'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n'
        b'data: {"error":{"message":"The server had an error","type":"server_error","code":null}}\n\n'
    )
    with pytest.raises(errors.ProviderError) as info:
        codec.parse_stream(200, {}, [data])
    assert info.value.code == "server_error"
    assert "The server had an error" in info.value.message


def test_a_non_json_data_line_is_malformed() -> None:
    with pytest.raises(errors.MalformedResponseError):
        codec.parse_stream(200, {}, [b"data: {nope\n\n"])


def test_json_the_standard_library_accepts_still_parses_in_a_stream() -> None:
    # NaN, a lone surrogate escape and an out-of-range float: not strict JSON, but parsed
    # before the fast parser came in, so a stream carrying them must not start failing.
    data = (
        b'data: {"choices":[{"index":0,"delta":{"content":"\\ud83d"}}],"x":NaN,"y":1e999}\n\n'
        b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    )
    assert codec.parse_stream(200, {}, [data]).text == "\ud83d"


@given(st.binary(max_size=400))
def test_random_bytes_raise_only_malformed_or_interrupted(data: bytes) -> None:
    try:
        codec.parse_stream(200, {}, [data])
    except (errors.MalformedResponseError, errors.StreamInterruptedError):
        pass


@given(st.lists(st.sampled_from([
    b"data: ", b"{", b"}", b'"choices"', b":", b"[", b"]", b"null", b'"delta"', b'"index"',
    b"1", b'"tool_calls"', b'"function"', b'"content"', b",", b"\n\n", b'"x"', b"[DONE]",
]), max_size=40))  # fmt: skip
def test_json_shaped_garbage_raises_only_wire_errors(parts: list[bytes]) -> None:
    try:
        codec.parse_stream(200, {}, [b"".join(parts)])
    except (errors.MalformedResponseError, errors.StreamInterruptedError):
        pass


def error_body(message: str, code: str | None, type_: str = "invalid_request_error") -> bytes:
    return json.dumps(
        {"error": {"message": message, "type": type_, "param": None, "code": code}}
    ).encode()


@pytest.mark.parametrize(
    ("status", "body", "expected", "code"),
    [
        (400, error_body("Invalid value for 'temperature'", None), errors.InvalidRequestError, "invalid_request_error"),
        (400, error_body("This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.", "context_length_exceeded"), errors.ContextLengthExceededError, "context_length_exceeded"),
        (401, error_body("Incorrect API key provided: sk-proj-****abcd.", "invalid_api_key"), errors.AuthenticationError, "invalid_api_key"),
        (403, error_body("Project does not have access to model", "model_not_found"), errors.PermissionDeniedError, "model_not_found"),
        (404, error_body("The model `gpt-9` does not exist or you do not have access to it.", "model_not_found"), errors.ModelNotFoundError, "model_not_found"),
        (429, error_body("Rate limit reached for requests", "rate_limit_exceeded", "requests"), errors.RateLimitError, "rate_limit_exceeded"),
        (500, error_body("The server had an error while processing your request.", None, "server_error"), errors.ServerError, "server_error"),
        (503, error_body("The engine is currently overloaded, please try again later", None, "server_error"), errors.ServerError, "server_error"),
        (400, error_body("The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", "content_filter"), errors.ContentFilterError, "content_filter"),
    ],
)  # fmt: skip
def test_error_status_and_body_map_to_taxonomy(
    status: int, body: bytes, expected: type[errors.ProviderError], code: str
) -> None:
    error = codec.parse_error(status, {}, body)
    assert type(error) is expected
    assert (error.status, error.code, error.provider) == (status, code, "openai")
    assert error.hint


def test_rate_limit_carries_retry_after() -> None:
    error = codec.parse_error(
        429, {"retry-after": "7"}, error_body("slow down", "rate_limit_exceeded")
    )
    assert isinstance(error, errors.RateLimitError) and error.retry_after == 7.0
    ms = codec.parse_error(429, {"retry-after-ms": "250"}, error_body("slow", None))
    assert ms.retry_after == 0.25


def test_html_page_from_a_proxy_is_named_by_its_title() -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>"
    error = codec.parse_error(502, {}, page)
    assert isinstance(error, errors.ServerError)
    assert error.message == "502 Bad Gateway"


def test_error_status_makes_parse_stream_raise() -> None:
    with pytest.raises(errors.AuthenticationError):
        codec.parse_stream(401, {}, [error_body("bad key", "invalid_api_key")])


def test_empty_error_body_still_explains() -> None:
    error = codec.parse_error(503, {}, b"")
    assert isinstance(error, errors.ServerError)
    assert "HTTP 503 with an empty body" in error.message
