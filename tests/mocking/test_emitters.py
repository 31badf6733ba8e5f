"""Every emitter's output, read back by our own codec of the same wire format.

What an emitter sends for a scripted reply or error must parse, through the codec that reads
real provider traffic, into the same text, tool calls, finish reason, usage and error class;
and the emitter must tell streamed requests (as the codec builds them) from the others.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from botocore.eventstream import EventStreamBuffer
from factories import make_provider

from pytest_llmbench import errors
from pytest_llmbench.kinds import KINDS
from pytest_llmbench.mocking import LLMMock, emitter_for
from pytest_llmbench.mocking.bedrock import event_stream_message
from pytest_llmbench.mocking.emitter import Chunk, MockError, MockReply, MockToolCall
from pytest_llmbench.providers import codec_for
from pytest_llmbench.types import Completion, FinishReason, Message, Request, Usage

# Wire formats that report reasoning tokens (Converse has no such count).
REASONING_KINDS = {"openai", "openai-responses", "gemini"}
JSON_HEADERS = {"content-type": "application/json"}
TOKENS = ["Hel", "lo", ", wör", "ld", "! ✓"]
USAGE = Usage(input_tokens=40, output_tokens=9, cached_input_tokens=12, reasoning_tokens=3)
CALLS = [
    MockToolCall("get_weather", {"city": "Paris", "unit": "celsius"}, id="call_0"),
    MockToolCall("lookup", {"query": {"terms": ["a", "b"], "limit": 2}}, id="toolu_custom"),
]

kinds = pytest.mark.parametrize("kind", KINDS)
stream_or_not = pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])


def stream_headers(kind: str) -> dict[str, str]:
    return {"content-type": emitter_for(kind).stream_content_type}


def parse(kind: str, reply: MockReply, stream: bool) -> Completion:
    """The scripted reply as the emitter sends it, read back by the codec."""
    emitter, codec = emitter_for(kind), codec_for(kind)
    if stream:
        chunks = [chunk.data for chunk in emitter.chunks(reply)]
        return codec.parse_stream(200, stream_headers(kind), chunks)
    body = json.dumps(emitter.body(reply)).encode()
    return codec.parse_response(200, JSON_HEADERS, body)


def assert_usage(kind: str, usage: Usage | None, expected: Usage) -> None:
    assert usage is not None
    assert usage.input_tokens == expected.input_tokens
    assert usage.output_tokens == expected.output_tokens
    assert (usage.cached_input_tokens or 0) == (expected.cached_input_tokens or 0)
    if kind in REASONING_KINDS:
        assert (usage.reasoning_tokens or 0) == (expected.reasoning_tokens or 0)


# -- (a) replies -------------------------------------------------------------------------------


@kinds
@stream_or_not
def test_text_reply_round_trips(kind: str, stream: bool) -> None:
    reply = MockReply(TOKENS, usage=USAGE, model="test-model", id="resp-42")
    completion = parse(kind, reply, stream)
    assert completion.text == "".join(TOKENS)
    assert completion.tool_calls == []
    assert completion.finish_reason == "stop"
    assert_usage(kind, completion.usage, USAGE)
    if kind != "bedrock":  # Converse answers carry neither id nor model
        assert completion.model == "test-model"
        assert completion.id == "resp-42"


@kinds
@stream_or_not
def test_default_usage_round_trips(kind: str, stream: bool) -> None:
    reply = MockReply(["a", "b", "c"])
    assert_usage(kind, parse(kind, reply, stream).usage, reply.usage_or_default())


@kinds
@stream_or_not
@pytest.mark.parametrize("text", [[], ["Let me", " check."]], ids=["tools-only", "text-first"])
def test_tool_calls_round_trip(kind: str, stream: bool, text: list[str]) -> None:
    reply = MockReply(text, tool_calls=CALLS, finish="tool_calls", usage=USAGE)
    completion = parse(kind, reply, stream)
    assert completion.text == "".join(text)
    assert [(c.id, c.name, c.arguments) for c in completion.tool_calls] == [
        (c.id, c.name, c.arguments) for c in CALLS
    ]
    assert completion.finish_reason == "tool_calls"
    assert_usage(kind, completion.usage, USAGE)


@kinds
@stream_or_not
def test_tool_call_without_id_gets_one(kind: str, stream: bool) -> None:
    reply = MockReply([], tool_calls=[MockToolCall("ping", {})], finish="tool_calls")
    (call,) = parse(kind, reply, stream).tool_calls
    assert call.name == "ping"
    assert call.arguments == {}
    assert call.id


@kinds
@stream_or_not
@pytest.mark.parametrize("finish", ["length", "content_filter"])
def test_finish_reason_round_trips(kind: str, stream: bool, finish: FinishReason) -> None:
    reply = MockReply(["cut", " short"], finish=finish)
    completion = parse(kind, reply, stream)
    assert completion.finish_reason == finish
    assert completion.text == "cut short"


# What "error" and "other" become where a wire format has no exact equivalent.
UNMAPPED_FINISH: dict[str, dict[str, FinishReason | type[Exception]]] = {
    "openai": {"error": "stop", "other": "stop"},
    "openai-responses": {"error": errors.ServerError, "other": "stop"},  # status "failed"
    "anthropic": {"error": "stop", "other": "other"},
    "gemini": {"error": "error", "other": "other"},
    "bedrock": {"error": "other", "other": "other"},
}


@kinds
@stream_or_not
@pytest.mark.parametrize("finish", ["error", "other"])
def test_unmapped_finish_reasons(kind: str, stream: bool, finish: FinishReason) -> None:
    expected = UNMAPPED_FINISH[kind][finish]
    reply = MockReply(["x"], finish=finish)
    if isinstance(expected, type):
        with pytest.raises(expected):
            parse(kind, reply, stream)
    else:
        assert parse(kind, reply, stream).finish_reason == expected


@kinds
@stream_or_not
def test_empty_reply(kind: str, stream: bool) -> None:
    completion = parse(kind, MockReply([]), stream)
    assert completion.text == ""
    assert completion.tool_calls == []
    assert completion.finish_reason == "stop"


@kinds
def test_stream_parses_split_anywhere(kind: str) -> None:
    """The chunk boundaries are the emitter's; any other split of the bytes reads the same."""
    reply = MockReply(TOKENS, tool_calls=CALLS[:1], finish="tool_calls", usage=USAGE)
    data = b"".join(chunk.data for chunk in emitter_for(kind).chunks(reply))
    pieces = [data[i : i + 7] for i in range(0, len(data), 7)]
    completion = codec_for(kind).parse_stream(200, stream_headers(kind), pieces)
    assert completion == parse(kind, reply, stream=True)


def output_per_chunk(kind: str, chunks: list[Chunk]) -> list[bool]:
    """For each chunk, whether the events it completes carry output (what TTFT/ITL time)."""
    decoder = codec_for(kind).stream_decoder_for(stream_headers(kind))
    return [any(event.is_output for event in decoder.feed(chunk.data)) for chunk in chunks]


@kinds
@pytest.mark.parametrize("text", [[], TOKENS], ids=["tools-only", "text-first"])
def test_chunk_roles_match_output(kind: str, text: list[str]) -> None:
    """One token chunk per token and per tool-call piece, each carrying output; head chunks
    before them and tail chunks after them carry none, so mocked timing is measured right."""
    reply = MockReply(text, tool_calls=CALLS, finish="tool_calls")
    chunks = emitter_for(kind).chunks(reply)
    roles = [chunk.role for chunk in chunks]
    first = roles.index("token")
    last = len(roles) - 1 - roles[::-1].index("token")
    assert set(roles[:first]) <= {"head"}
    assert set(roles[first : last + 1]) == {"token"}
    assert set(roles[last + 1 :]) == {"tail"}
    pieces_per_call = 1 if kind == "gemini" else 2  # Gemini sends each call whole
    assert roles.count("token") == len(text) + pieces_per_call * len(CALLS)
    carries_output = output_per_chunk(kind, chunks)
    assert carries_output == [role == "token" for role in roles]


@kinds
def test_empty_stream_has_no_token_chunks(kind: str) -> None:
    chunks = emitter_for(kind).chunks(MockReply([]))
    assert "token" not in {chunk.role for chunk in chunks}
    assert chunks[-1].role == "tail"


# -- (b) errors --------------------------------------------------------------------------------

ERROR_CLASSES: dict[int, type[errors.ProviderError]] = {
    400: errors.InvalidRequestError,
    401: errors.AuthenticationError,
    403: errors.PermissionDeniedError,
    404: errors.ModelNotFoundError,
    429: errors.RateLimitError,
    500: errors.ServerError,
    503: errors.ServerError,
    529: errors.ServerError,
}
ERROR_CASES = [
    (kind, status)
    for kind in KINDS
    for status in ERROR_CLASSES
    if status != 529 or kind == "anthropic"  # 529 "overloaded" is Anthropic's own
]


def parse_error(kind: str, error: MockError) -> errors.ProviderError:
    emitter = emitter_for(kind)
    body = json.dumps(emitter.error_body(error)).encode()
    return codec_for(kind).parse_error(error.status, emitter.error_headers(error), body)


@pytest.mark.parametrize(("kind", "status"), ERROR_CASES)
def test_error_maps_to_taxonomy(kind: str, status: int) -> None:
    retry_after = 7.5 if status == 429 else None
    error = MockError(status, message="scripted failure", retry_after=retry_after)
    parsed = parse_error(kind, error)
    assert type(parsed) is ERROR_CLASSES[status]
    assert parsed.status == status
    assert parsed.message == "scripted failure"
    assert parsed.retry_after == retry_after


@kinds
def test_error_without_retry_after_has_none(kind: str) -> None:
    assert parse_error(kind, MockError(429)).retry_after is None


@kinds
@pytest.mark.parametrize("seconds", [0.25, 30.0, 1e-05])
def test_retry_after_keeps_its_value(kind: str, seconds: float) -> None:
    assert parse_error(kind, MockError(429, retry_after=seconds)).retry_after == seconds


# An error code the test scripts names the provider's own error, as the codec reads it: the
# codec reports the code it saw (for Gemini the google.rpc status; a scripted non-status code
# becomes an ErrorInfo reason).
CODED_ERRORS = [
    ("openai", 400, "context_length_exceeded", errors.ContextLengthExceededError, None),
    ("openai-responses", 400, "context_length_exceeded", errors.ContextLengthExceededError, None),
    ("anthropic", 400, "billing_error", errors.PermissionDeniedError, None),
    ("gemini", 400, "API_KEY_INVALID", errors.AuthenticationError, "INVALID_ARGUMENT"),
    ("gemini", 400, "FAILED_PRECONDITION", errors.InvalidRequestError, None),
    ("gemini", 403, "UNAUTHENTICATED", errors.AuthenticationError, None),
    ("bedrock", 400, "ServiceQuotaExceededException", errors.RateLimitError, None),
    ("bedrock", 403, "UnrecognizedClientException", errors.AuthenticationError, None),
]


@pytest.mark.parametrize(("kind", "status", "code", "expected", "reported"), CODED_ERRORS)
def test_error_code_names_the_error(
    kind: str,
    status: int,
    code: str,
    expected: type[errors.ProviderError],
    reported: str | None,
) -> None:
    parsed = parse_error(kind, MockError(status, code=code))
    assert type(parsed) is expected
    assert parsed.code == (reported or code)


def test_gemini_error_is_a_google_rpc_status() -> None:
    body = emitter_for("gemini").error_body(MockError(429, "quota", retry_after=21.5))
    assert body == {
        "error": {
            "code": 429,
            "message": "quota",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "21.5s"}
            ],
        }
    }
    assert "retry-after" not in emitter_for("gemini").error_headers(MockError(429, retry_after=2))


def test_anthropic_error_envelope() -> None:
    body = emitter_for("anthropic").error_body(MockError(529, "Overloaded"))
    assert body == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def test_bedrock_error_type_header() -> None:
    headers = emitter_for("bedrock").error_headers(MockError(429))
    assert headers["x-amzn-ErrorType"] == (
        "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"
    )
    assert emitter_for("bedrock").error_body(MockError(429, "Too many requests")) == {
        "message": "Too many requests"
    }


# -- (c) streamed or not -----------------------------------------------------------------------


@kinds
@pytest.mark.parametrize("stream", [False, True])
def test_is_stream_matches_the_codec_request(kind: str, stream: bool) -> None:
    provider = make_provider(kind)
    request = Request(messages=[Message(role="user", content="hi")], stream=stream)
    http_request = codec_for(kind).build_request(request, provider.model(), provider, "key")
    assert emitter_for(kind).is_stream(http_request) is stream


# -- through LLMMock and httpx -----------------------------------------------------------------


async def exchange(kind: str, stream: bool, script: Any) -> tuple[httpx.Response, list[bytes]]:
    """One request built by the codec, answered by LLMMock over an httpx transport."""
    provider = make_provider(kind)
    mock = LLMMock(provider, provider.model())
    script(mock)
    request = Request(messages=[Message(role="user", content="hi")], stream=stream)
    http_request = codec_for(kind).build_request(request, provider.model(), provider, "key")
    async with httpx.AsyncClient(transport=mock.transport) as client:
        response = await client.send(http_request, stream=True)
        if response.is_stream_consumed:  # a JSON answer: MockTransport read it already
            chunks = [await response.aread()]
        else:
            chunks = [chunk async for chunk in response.aiter_raw()]
        await response.aclose()
    return response, chunks


@kinds
@stream_or_not
async def test_llm_mock_answers_in_the_wire_format(kind: str, stream: bool) -> None:
    response, chunks = await exchange(
        kind, stream, lambda mock: mock.stream(["Hi", " there"], usage={"input_tokens": 5})
    )
    codec = codec_for(kind)
    if stream:
        completion = codec.parse_stream(response.status_code, response.headers, chunks)
    else:
        completion = codec.parse_response(response.status_code, response.headers, b"".join(chunks))
    assert completion.text == "Hi there"
    assert completion.finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.input_tokens == 5


@kinds
async def test_llm_mock_errors_in_the_wire_format(kind: str) -> None:
    response, chunks = await exchange(kind, True, lambda mock: mock.error(429, retry_after=3))
    error = codec_for(kind).parse_error(response.status_code, response.headers, b"".join(chunks))
    assert isinstance(error, errors.RateLimitError)
    assert error.retry_after == 3


# -- the event-stream encoder ------------------------------------------------------------------


def test_event_stream_message_decodes_with_botocore() -> None:
    headers = {":event-type": "messageStop", ":message-type": "event", "x-é": "✓"}
    payload = b'{"stopReason":"end_turn"}'
    buffer = EventStreamBuffer()
    buffer.add_data(event_stream_message(headers, payload) + event_stream_message({}, b""))
    first, second = list(buffer)
    # botocore-stubs type `headers` as int; it is the dict of decoded headers.
    first_headers: Any = first.headers
    second_headers: Any = second.headers
    assert first_headers == headers
    assert first.payload == payload
    assert second_headers == {}
    assert second.payload == b""


def test_event_stream_message_layout() -> None:
    data = event_stream_message({"a": "b"}, b"xyz")
    # prelude 12 + header (1 + 1 + 1 + 2 + 1) + payload 3 + CRC 4
    assert len(data) == 25
    assert int.from_bytes(data[0:4], "big") == 25
    assert int.from_bytes(data[4:8], "big") == 6
    assert data[12:18] == b"\x01a\x07\x00\x01b"


def test_event_stream_header_too_long() -> None:
    with pytest.raises(ValueError, match="too long"):
        event_stream_message({"x": "v" * 40000}, b"")
