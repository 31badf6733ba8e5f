"""Gemini API codec: requests, bodies, SSE and JSON-array streams, errors (synthetic fixtures)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from factories import make_provider
from hypothesis import given
from hypothesis import strategies as st

from pytest_llmbench import errors
from pytest_llmbench.providers import codec_for
from pytest_llmbench.providers.gemini import Framing, GeminiCodec, parse_duration
from pytest_llmbench.strategies import (
    splits,
)
from pytest_llmbench.types import Message, Request, StreamEvent, ToolCall, ToolSpec

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gemini"
BASE = "https://generativelanguage.googleapis.com/v1beta"
codec = GeminiCodec()
PROVIDER = make_provider("gemini")
MODEL = PROVIDER.model()
SSE = {"content-type": "text/event-stream"}
JSON = {"content-type": "application/json; charset=UTF-8"}
STREAMS: list[tuple[str, Framing]] = [
    ("stream_text.sse", "sse"),
    ("stream_tools.sse", "sse"),
    ("stream_text.json", "json-array"),
]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def body_of(request: httpx.Request) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(request.content)
    return data


def ask(text: str = "Hi", **fields: Any) -> Request:
    return Request(messages=[Message(role="user", content=text)], **fields)


def events_of(
    data: bytes, chunks: list[bytes] | None = None, framing: Framing = "sse"
) -> list[StreamEvent]:
    decoder = codec.stream_decoder(framing=framing)
    events: list[StreamEvent] = []
    for chunk in chunks if chunks is not None else [data]:
        events += decoder.feed(chunk)
    return events + decoder.close()


def sse(*chunks: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in chunks)


def text_chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}}
    if finish is not None:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "modelVersion": "gemini-2.5-flash", "responseId": "r1"}


# -- build_request -------------------------------------------------------------------------


def test_codec_for_kind_returns_this_codec() -> None:
    assert isinstance(codec_for("gemini"), GeminiCodec)


def test_build_request_posts_generate_content_with_key_in_header_only() -> None:
    http = codec.build_request(ask(), MODEL, PROVIDER, "AIza-test-key-0123")
    assert http.method == "POST"
    assert str(http.url) == f"{BASE}/models/test-model:generateContent"
    assert http.headers["x-goog-api-key"] == "AIza-test-key-0123"
    assert "AIza-test-key-0123" not in str(http.url)
    assert http.headers["content-type"] == "application/json"
    assert body_of(http) == {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}


def test_streaming_request_asks_for_server_sent_events() -> None:
    http = codec.build_request(ask(stream=True), MODEL, PROVIDER, "k" * 10)
    assert str(http.url) == f"{BASE}/models/test-model:streamGenerateContent?alt=sse"
    assert http.headers["accept"] == "text/event-stream"
    assert "stream" not in body_of(http)


def test_no_key_sends_no_key_header() -> None:
    http = codec.build_request(ask(), MODEL, PROVIDER)
    assert "x-goog-api-key" not in http.headers


def test_extra_headers_from_config_are_sent() -> None:
    provider = make_provider("gemini", headers={"x-team": "bench"})
    http = codec.build_request(ask(), provider.model(), provider)
    assert http.headers["x-team"] == "bench"


def test_tuned_model_ids_keep_their_collection() -> None:
    provider = make_provider("gemini", base_url=BASE + "/", model_id="tunedModels/my-model-x1")
    http = codec.build_request(ask(), provider.model(), provider)
    assert str(http.url) == f"{BASE}/tunedModels/my-model-x1:generateContent"


def test_build_request_carries_every_option_in_generation_config() -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    request = Request(
        messages=[
            Message(role="system", content="Be brief."),
            Message(role="system", content="Answer in English."),
            Message(role="user", content="Weather?"),
        ],
        max_tokens=64,
        temperature=0.2,
        top_p=0.9,
        stop="END",
        seed=7,
        response_schema=schema,
    )
    body = body_of(codec.build_request(request, MODEL, PROVIDER))
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief.\n\nAnswer in English."}]}
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Weather?"}]}]
    assert body["generationConfig"] == {
        "maxOutputTokens": 64,
        "temperature": 0.2,
        "topP": 0.9,
        "stopSequences": ["END"],
        "seed": 7,
        "responseMimeType": "application/json",
        "responseJsonSchema": schema,
    }
    assert "tools" not in body and "toolConfig" not in body


def test_tools_are_function_declarations_with_json_schema_parameters() -> None:
    request = ask(
        tools=[
            ToolSpec(
                name="get_weather",
                description="Weather for a city",
                parameters={"type": "object", "properties": {"city": {"type": "string"}}},
            ),
            ToolSpec(name="get_time"),
        ]
    )
    body = body_of(codec.build_request(request, MODEL, PROVIDER))
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Weather for a city",
                    "parametersJsonSchema": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                    },
                },
                {"name": "get_time", "parametersJsonSchema": {"type": "object", "properties": {}}},
            ]
        }
    ]


@pytest.mark.parametrize(
    ("choice", "mode"), [("auto", "AUTO"), ("required", "ANY"), ("none", "NONE")]
)
def test_tool_choice_is_a_function_calling_mode(choice: Any, mode: str) -> None:
    body = body_of(codec.build_request(ask(tool_choice=choice), MODEL, PROVIDER))
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": mode}}


def test_conversation_maps_roles_tool_calls_and_tool_results() -> None:
    request = Request(
        messages=[
            Message(role="user", content="Weather in Paris and Oslo?"),
            Message(
                role="assistant",
                tool_calls=[
                    ToolCall(id="call_0", name="get_weather", arguments={"city": "Paris"}),
                    ToolCall(id="fc-server-7", name="get_weather", arguments={"city": "Oslo"}),
                ],
            ),
            Message(role="tool", tool_call_id="call_0", content='{"temp": 21}'),
            Message(role="tool", tool_call_id="fc-server-7", content="minus three"),
            Message(role="assistant", content="Paris is warmer."),
        ]
    )
    contents = body_of(codec.build_request(request, MODEL, PROVIDER))["contents"]
    assert contents == [
        {"role": "user", "parts": [{"text": "Weather in Paris and Oslo?"}]},
        {
            "role": "model",
            "parts": [
                # Our own made-up ids are not sent back; a server's id is.
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
                {
                    "functionCall": {
                        "name": "get_weather",
                        "args": {"city": "Oslo"},
                        "id": "fc-server-7",
                    }
                },
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}},
                {
                    "functionResponse": {
                        "name": "get_weather",
                        "response": {"output": "minus three"},
                        "id": "fc-server-7",
                    }
                },
            ],
        },
        {"role": "model", "parts": [{"text": "Paris is warmer."}]},
    ]


def test_tool_result_name_comes_from_the_message_when_given() -> None:
    request = Request(messages=[Message(role="tool", name="lookup", content="[1, 2]")])
    contents = body_of(codec.build_request(request, MODEL, PROVIDER))["contents"]
    assert contents[0]["parts"][0]["functionResponse"] == {
        "name": "lookup",
        "response": {"output": "[1, 2]"},
    }


def test_openai_style_content_parts_become_gemini_parts() -> None:
    content: list[dict[str, Any]] = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"fileData": {"mimeType": "application/pdf", "fileUri": "https://example/f"}},
    ]
    request = Request(messages=[Message(role="user", content=content)])
    parts = body_of(codec.build_request(request, MODEL, PROVIDER))["contents"][0]["parts"]
    assert parts == [
        {"text": "What is this?"},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"fileData": {"mimeType": "application/pdf", "fileUri": "https://example/f"}},
    ]


def test_extra_is_merged_last_and_deeply() -> None:
    request = ask(
        max_tokens=10,
        extra={
            "generationConfig": {"thinkingConfig": {"includeThoughts": True}, "maxOutputTokens": 5},
            "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "OFF"}],
        },
    )
    body = body_of(codec.build_request(request, MODEL, PROVIDER))
    assert body["generationConfig"] == {
        "maxOutputTokens": 5,
        "thinkingConfig": {"includeThoughts": True},
    }
    assert body["safetySettings"][0]["threshold"] == "OFF"


def test_round_trip_through_an_httpx_client() -> None:
    with respx.mock(assert_all_called=True) as router:
        route = router.post(f"{BASE}/models/test-model:generateContent").respond(
            200, content=fixture("response_text.json"), headers=JSON
        )
        with httpx.Client() as client:
            response = client.send(codec.build_request(ask(), MODEL, PROVIDER, "secret-key-1"))
        completion = codec.parse_response(response.status_code, response.headers, response.content)
    assert route.calls.last.request.headers["x-goog-api-key"] == "secret-key-1"
    assert completion.text == 'There are three r\'s in "strawberry".'


def test_streamed_round_trip_through_an_httpx_client() -> None:
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{BASE}/models/test-model:streamGenerateContent?alt=sse").respond(
            200, content=fixture("stream_tools.sse"), headers=SSE
        )
        request = codec.build_request(ask(stream=True), MODEL, PROVIDER, "secret-key-1")
        with (
            httpx.Client() as client,
            client.stream(
                request.method, request.url, headers=request.headers, content=request.content
            ) as response,
        ):
            completion = codec.parse_stream(
                response.status_code, response.headers, response.iter_raw(7)
            )
    assert [call.name for call in completion.tool_calls] == ["get_weather", "get_time"]


# -- non-streamed responses ----------------------------------------------------------------


def test_parse_response_text_thoughts_usage_and_ids() -> None:
    completion = codec.parse_response(200, JSON, fixture("response_text.json"))
    assert completion.text == 'There are three r\'s in "strawberry".'
    assert completion.reasoning == "Counting the letters one by one."
    assert (completion.finish_reason, completion.raw_finish_reason) == ("stop", "STOP")
    assert completion.id == "b1kbaMW9GYuIz7IPz_vNsAQ"
    assert completion.model == "gemini-2.5-pro"
    assert completion.raw["responseId"] == "b1kbaMW9GYuIz7IPz_vNsAQ"


def test_usage_counts_thoughts_as_output_and_reports_cache() -> None:
    usage = codec.parse_response(200, JSON, fixture("response_text.json")).usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (2050, 11 + 88)
    assert (usage.cached_input_tokens, usage.reasoning_tokens) == (2014, 88)
    assert usage.total_tokens == 2149  # the server's totalTokenCount


def test_usage_includes_tool_use_prompt_tokens_in_input() -> None:
    body = text_chunk("ok", "STOP") | {
        "usageMetadata": {
            "promptTokenCount": 10,
            "toolUsePromptTokenCount": 90,
            "candidatesTokenCount": 3,
            "totalTokenCount": 103,
        }
    }
    usage = codec.parse_response(200, JSON, json.dumps(body).encode()).usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.reasoning_tokens) == (100, 3, None)


def test_token_counts_accept_int64_strings_and_ignore_junk() -> None:
    body = text_chunk("ok", "STOP") | {
        "usageMetadata": {
            "promptTokenCount": "12",
            "candidatesTokenCount": 3.0,
            "thoughtsTokenCount": True,
            "cachedContentTokenCount": "many",
        }
    }
    usage = codec.parse_response(200, JSON, json.dumps(body).encode()).usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (12, 3)
    assert (usage.cached_input_tokens, usage.reasoning_tokens) == (None, None)


def test_parse_response_function_calls_get_ids_and_parsed_arguments() -> None:
    completion = codec.parse_response(200, JSON, fixture("response_tools.json"))
    assert [(c.id, c.name, c.arguments) for c in completion.tool_calls] == [
        ("call_0", "get_weather", {"city": "Paris"}),
        ("call_1", "get_weather", {"city": "Oslo"}),
    ]
    assert json.loads(completion.tool_calls[0].raw_arguments) == {"city": "Paris"}
    assert (completion.finish_reason, completion.raw_finish_reason) == ("tool_calls", "STOP")
    assert completion.text == ""


def test_a_function_call_id_from_the_server_is_kept() -> None:
    part = {"functionCall": {"id": "fc-42", "name": "f", "args": {"a": 1}}}
    body = {"candidates": [{"content": {"parts": [part]}, "finishReason": "STOP"}]}
    completion = codec.parse_response(200, JSON, json.dumps(body).encode())
    assert completion.tool_calls[0].id == "fc-42"


def test_blocked_prompt_raises_content_filter_error() -> None:
    with pytest.raises(errors.ContentFilterError) as info:
        codec.parse_response(200, JSON, fixture("response_blocked_prompt.json"))
    assert info.value.code == "PROHIBITED_CONTENT"
    assert "PROHIBITED_CONTENT" in info.value.message


def test_candidate_stopped_by_safety_is_a_content_filter_finish() -> None:
    completion = codec.parse_response(200, JSON, fixture("response_safety.json"))
    assert (completion.finish_reason, completion.raw_finish_reason) == ("content_filter", "SAFETY")
    assert completion.text == ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("IMAGE_SAFETY", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "error"),
        ("UNEXPECTED_TOOL_CALL", "error"),
        ("LANGUAGE", "other"),
        ("OTHER", "other"),
        ("FINISH_REASON_UNSPECIFIED", "other"),
        ("SOMETHING_NEW", "other"),
    ],
)
def test_finish_reasons_are_normalised(raw: str, expected: str) -> None:
    completion = codec.parse_response(200, JSON, json.dumps(text_chunk("x", raw)).encode())
    assert (completion.finish_reason, completion.raw_finish_reason) == (expected, raw)


def test_only_the_first_candidate_is_read() -> None:
    body = {
        "candidates": [
            {"index": 1, "content": {"parts": [{"text": "B"}]}, "finishReason": "STOP"},
            {"index": 0, "content": {"parts": [{"text": "A"}]}, "finishReason": "MAX_TOKENS"},
        ]
    }
    completion = codec.parse_response(200, JSON, json.dumps(body).encode())
    assert (completion.text, completion.finish_reason) == ("A", "length")


def test_parse_response_without_candidates_is_malformed() -> None:
    with pytest.raises(errors.MalformedResponseError, match="no candidates"):
        codec.parse_response(200, JSON, b'{"usageMetadata": {"promptTokenCount": 3}}')


def test_an_error_body_with_status_200_raises_its_error() -> None:
    with pytest.raises(errors.ServerError) as info:
        codec.parse_response(200, JSON, fixture("error_503_unavailable.json"))
    assert info.value.code == "UNAVAILABLE"


# -- streams -------------------------------------------------------------------------------


def test_stream_text_with_thoughts_and_repeated_usage() -> None:
    events = events_of(fixture("stream_text.sse"))
    assert [e.type for e in events] == [
        "start", "reasoning", "usage", "text", "usage", "text", "usage", "text", "usage", "finish",
    ]  # fmt: skip
    completion = codec.parse_stream(200, SSE, [fixture("stream_text.sse")])
    assert completion.text == "Hej wörld ☃!"
    assert completion.reasoning.startswith("**Greeting back**")
    assert (completion.id, completion.model) == ("mW4aaPq2Ko2p1MkPw7q2kAE", "gemini-2.5-flash")
    assert (completion.finish_reason, completion.raw_finish_reason) == ("stop", "STOP")


def test_stream_usage_is_the_last_reported() -> None:
    usage = codec.parse_stream(200, SSE, [fixture("stream_text.sse")]).usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.reasoning_tokens) == (9, 5 + 12, 12)


def test_thought_signature_parts_are_not_output() -> None:
    events = events_of(fixture("stream_text.sse"))
    assert [e.text for e in events if e.is_output and e.type == "text"] == [
        "Hej", " wörld ☃", "!",
    ]  # fmt: skip


def test_stream_function_calls_are_whole_and_numbered() -> None:
    events = events_of(fixture("stream_tools.sse"))
    calls = [(e.index, e.id, e.name, e.text) for e in events if e.type == "tool_call"]
    assert calls == [
        (0, "call_0", "get_weather", '{"city": "Paris", "unit": "celsius"}'),
        (1, "call_1", "get_time", "{}"),
    ]
    completion = codec.parse_stream(200, SSE, [fixture("stream_tools.sse")])
    assert completion.text == "Let me look that up."
    assert [c.arguments for c in completion.tool_calls] == [
        {"city": "Paris", "unit": "celsius"},
        {},
    ]
    assert (completion.finish_reason, completion.raw_finish_reason) == ("tool_calls", "STOP")


def test_json_array_stream_decodes_like_the_sse_stream() -> None:
    from_sse = events_of(fixture("stream_text.sse"))
    assert events_of(fixture("stream_text.json"), framing="json-array") == from_sse


def test_default_decoder_reads_server_sent_events() -> None:
    decoder = codec.stream_decoder()
    events = decoder.feed(fixture("stream_text.sse")) + decoder.close()
    assert events == events_of(fixture("stream_text.sse"), framing="sse")


@pytest.mark.parametrize(
    ("name", "headers"),
    [
        ("stream_text.sse", SSE),
        ("stream_text.sse", {}),
        ("stream_text.json", JSON),
        ("stream_text.json", {}),
    ],
)
def test_parse_stream_detects_the_framing(name: str, headers: dict[str, str]) -> None:
    completion = codec.parse_stream(200, headers, [fixture(name)])
    assert completion.text == "Hej wörld ☃!"


def test_auto_framing_waits_past_leading_blank_bytes() -> None:
    data = fixture("stream_text.json")
    chunks = [b"\r\n", b"  ", data]
    assert events_of(data, chunks, framing="auto") == events_of(data, framing="json-array")


def test_lf_and_crlf_separators_decode_alike() -> None:
    crlf = fixture("stream_text.sse")
    assert events_of(crlf.replace(b"\r\n", b"\n")) == events_of(crlf)


@pytest.mark.parametrize(("name", "framing"), STREAMS)
@given(data=st.data())
def test_any_split_decodes_to_the_same_events(name: str, framing: Framing, data: Any) -> None:
    body = fixture(name)
    chunks = data.draw(splits(body))
    assert events_of(body, chunks, framing) == events_of(body, framing=framing)
    auto = codec.stream_decoder(framing="auto")
    events = [e for chunk in chunks for e in auto.feed(chunk)] + auto.close()
    assert events == events_of(body, framing=framing)


@pytest.mark.parametrize(("name", "framing"), STREAMS)
def test_one_byte_chunks_decode_to_the_same_completion(name: str, framing: Framing) -> None:
    body = fixture(name)
    headers = SSE if framing == "sse" else JSON
    one_byte = codec.parse_stream(200, headers, [bytes([b]) for b in body])
    assert one_byte == codec.parse_stream(200, headers, [body])
    assert events_of(body, [bytes([b]) for b in body], framing) == events_of(body, framing=framing)


@pytest.mark.parametrize(("name", "framing"), STREAMS)
def test_stream_cut_before_the_finish_reason_is_interrupted(name: str, framing: Framing) -> None:
    body = fixture(name)
    cut = body[: body.index(b'"finishReason"')]
    with pytest.raises(errors.StreamInterruptedError, match="finishReason"):
        events_of(cut, framing=framing)


def test_stream_of_whole_chunks_without_a_finish_reason_is_interrupted() -> None:
    with pytest.raises(errors.StreamInterruptedError):
        codec.parse_stream(200, SSE, [sse(text_chunk("a"), text_chunk("b"))])
    with pytest.raises(errors.StreamInterruptedError):
        codec.parse_stream(200, JSON, [b"[" + json.dumps(text_chunk("a")).encode() + b"]"])


@pytest.mark.parametrize("framing", ["sse", "json-array", "auto"])
def test_empty_body_is_interrupted(framing: Framing) -> None:
    with pytest.raises(errors.StreamInterruptedError):
        events_of(b"", framing=framing)


def test_sse_comment_is_a_keepalive() -> None:
    events = events_of(b": ping\r\n\r\n" + sse(text_chunk("a", "STOP")))
    assert [e.type for e in events] == ["keepalive", "start", "text", "finish"]


def test_error_event_inside_a_200_sse_stream_raises_taxonomy_error() -> None:
    error = json.loads(fixture("error_503_unavailable.json"))
    with pytest.raises(errors.ServerError) as info:
        codec.parse_stream(200, SSE, [sse(text_chunk("partial"), error)])
    assert (info.value.code, info.value.status) == ("UNAVAILABLE", None)
    assert info.value.message == "The model is overloaded. Please try again later."


def test_error_inside_a_stream_is_classed_by_its_numeric_code_when_status_is_unknown() -> None:
    error = {"error": {"code": 503, "message": "try later", "status": "BRAND_NEW_STATUS"}}
    events = events_of(sse(text_chunk("partial"), error))
    assert isinstance(events[-1].error, errors.ServerError)
    assert (events[-1].error.status, events[-1].error.code) == (None, "BRAND_NEW_STATUS")


def test_rate_limit_inside_a_stream_carries_retry_info() -> None:
    error = json.loads(fixture("error_429_resource_exhausted.json"))
    events = events_of(sse(error))
    assert [e.type for e in events] == ["error"]
    assert isinstance(events[0].error, errors.RateLimitError)
    assert events[0].error.retry_after == pytest.approx(21.377814)


def test_error_element_inside_a_json_array_stream_raises() -> None:
    error = fixture("error_500_internal.json")
    body = b"[" + json.dumps(text_chunk("partial")).encode() + b",\r\n" + error + b"]"
    with pytest.raises(errors.ServerError, match="internal error"):
        codec.parse_stream(200, JSON, [body])


def test_bare_error_object_with_status_200_is_read_by_auto_framing() -> None:
    with pytest.raises(errors.AuthenticationError):
        codec.parse_stream(200, {}, [fixture("error_400_api_key_invalid.json")])


def test_blocked_prompt_in_a_stream_raises_content_filter_error() -> None:
    blocked = json.loads(fixture("response_blocked_prompt.json"))
    events = events_of(sse(blocked))
    assert [e.type for e in events] == ["start", "error", "usage"]
    with pytest.raises(errors.ContentFilterError, match="PROHIBITED_CONTENT"):
        codec.parse_stream(200, SSE, [sse(blocked)])


def test_a_non_json_data_line_is_malformed() -> None:
    with pytest.raises(errors.MalformedResponseError):
        codec.parse_stream(200, SSE, [b"data: {nope\r\n\r\n"])


def test_deeply_nested_json_is_malformed_not_a_crash() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(errors.MalformedResponseError):
        events_of(b"data: " + deep + b"\n\n")
    with pytest.raises(errors.MalformedResponseError):
        events_of(b'[{"a":' + deep + b"}]", framing="json-array")


@pytest.mark.parametrize("framing", ["sse", "json-array", "auto"])
@given(data=st.binary(max_size=400), chunks=st.data())
def test_random_bytes_raise_only_malformed_or_interrupted(
    framing: Framing, data: bytes, chunks: st.DataObject
) -> None:
    try:
        events_of(data, chunks.draw(splits(data, max_cuts=3)), framing)
    except (errors.MalformedResponseError, errors.StreamInterruptedError):
        pass


@given(st.lists(st.sampled_from([
    b"data: ", b"[", b"]", b"{", b"}", b":", b",", b"null", b"1", b'"x"', b"true", b"\r\n\r\n",
    b'"candidates"', b'"content"', b'"parts"', b'"text"', b'"thought"', b'"functionCall"',
    b'"args"', b'"name"', b'"finishReason"', b'"STOP"', b'"usageMetadata"', b'"index"',
    b'"promptTokenCount"', b'"promptFeedback"', b'"blockReason"', b'"error"', b'"details"',
]), max_size=40))  # fmt: skip
def test_json_shaped_garbage_raises_only_wire_errors(parts: list[bytes]) -> None:
    try:
        codec.parse_stream(200, {}, [b"".join(parts)])
    except errors.ProviderError:
        pass  # an "error" object decodes to its taxonomy error; anything else would be a bug


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "name", "expected", "code"),
    [
        (400, "error_400_invalid_argument.json", errors.InvalidRequestError, "INVALID_ARGUMENT"),
        (400, "error_400_context_length.json", errors.ContextLengthExceededError, "INVALID_ARGUMENT"),
        (400, "error_400_api_key_invalid.json", errors.AuthenticationError, "INVALID_ARGUMENT"),
        (400, "error_400_api_key_invalid_array.json", errors.AuthenticationError, "INVALID_ARGUMENT"),
        (401, "error_401_unauthenticated.json", errors.AuthenticationError, "UNAUTHENTICATED"),
        (403, "error_403_permission_denied.json", errors.PermissionDeniedError, "PERMISSION_DENIED"),
        (403, "error_403_unregistered_caller.json", errors.AuthenticationError, "PERMISSION_DENIED"),
        (404, "error_404_model_not_found.json", errors.ModelNotFoundError, "NOT_FOUND"),
        (429, "error_429_resource_exhausted.json", errors.RateLimitError, "RESOURCE_EXHAUSTED"),
        (500, "error_500_internal.json", errors.ServerError, "INTERNAL"),
        (503, "error_503_unavailable.json", errors.ServerError, "UNAVAILABLE"),
        (504, "error_504_deadline_exceeded.json", errors.TimeoutError, "DEADLINE_EXCEEDED"),
    ],
)  # fmt: skip
def test_error_status_and_body_map_to_taxonomy(
    status: int, name: str, expected: type[errors.ProviderError], code: str
) -> None:
    error = codec.parse_error(status, JSON, fixture(name))
    assert type(error) is expected
    assert (error.status, error.code, error.provider) == (status, code, "gemini")
    assert error.message and error.hint


def test_context_length_message_is_kept() -> None:
    error = codec.parse_error(400, JSON, fixture("error_400_context_length.json"))
    assert error.message.startswith("The input token count (1187425) exceeds the maximum")


def test_rate_limit_takes_retry_after_from_retry_info() -> None:
    error = codec.parse_error(429, JSON, fixture("error_429_resource_exhausted.json"))
    assert error.retryable
    assert error.retry_after == pytest.approx(21.377814)


def test_retry_after_header_wins_over_retry_info() -> None:
    headers = {**JSON, "Retry-After": "7"}
    error = codec.parse_error(429, headers, fixture("error_429_resource_exhausted.json"))
    assert error.retry_after == 7.0


def test_rate_limit_without_any_delay_has_no_retry_after() -> None:
    body = b'{"error": {"code": 429, "message": "Resource exhausted.", "status": "RESOURCE_EXHAUSTED"}}'
    error = codec.parse_error(429, JSON, body)
    assert isinstance(error, errors.RateLimitError) and error.retry_after is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("30s", 30.0), ("1.5s", 1.5), ("0s", 0.0), ("30", None), ("-1s", None), ("nans", None),
     ("s", None), (30, None), (None, None)],
)  # fmt: skip
def test_retry_delay_durations(value: Any, seconds: float | None) -> None:
    assert parse_duration(value) == seconds


def test_html_page_from_a_proxy_is_named_by_its_title() -> None:
    error = codec.parse_error(502, {"content-type": "text/html"}, fixture("error_502_proxy.html"))
    assert isinstance(error, errors.ServerError)
    assert error.message == "Error 502 (Server Error)!!1"
    assert error.code is None


def test_status_529_without_a_body_is_a_server_error() -> None:
    # Gemini does not use 529; a proxy in front of it might.
    error = codec.parse_error(529, {}, b"")
    assert isinstance(error, errors.ServerError) and error.retryable


def test_error_without_status_falls_back_to_the_numeric_code() -> None:
    error = codec.parse_error(400, JSON, b'{"error": {"code": 400, "message": "bad"}}')
    assert isinstance(error, errors.InvalidRequestError) and error.code == "400"


def test_error_given_as_a_bare_string_keeps_its_text() -> None:
    error = codec.parse_error(500, JSON, b'{"error": "backend exploded"}')
    assert isinstance(error, errors.ServerError) and error.message == "backend exploded"


def test_error_status_makes_parse_stream_raise() -> None:
    with pytest.raises(errors.AuthenticationError):
        codec.parse_stream(400, JSON, [fixture("error_400_api_key_invalid.json")])


def test_thought_signature_of_a_call_is_kept_and_sent_back() -> None:
    body = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {
                            "functionCall": {"name": "get_weather", "args": {"city": "Oslo"}},
                            "thoughtSignature": "c2lnbmF0dXJl",
                        }
                    ],
                },
                "finishReason": "STOP",
            }
        ]
    }
    completion = codec.parse_response(200, {}, json.dumps(body).encode())
    [call] = completion.tool_calls
    assert call.signature == "c2lnbmF0dXJl"
    streamed = codec.parse_stream(200, {"content-type": "text/event-stream"}, [sse(body)])
    assert streamed.tool_calls[0].signature == "c2lnbmF0dXJl"
    follow_up = Request(
        messages=[
            Message(role="user", content="Weather?"),
            Message(role="assistant", tool_calls=[call]),
            Message(role="tool", tool_call_id=call.id, content='{"temp": 3}'),
        ]
    )
    sent = body_of(codec.build_request(follow_up, MODEL, PROVIDER, "key"))
    assert sent["contents"][1]["parts"][0]["thoughtSignature"] == "c2lnbmF0dXJl"
