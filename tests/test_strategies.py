"""The public Hypothesis strategies: valid requests, and wire streams that parse to what they
promise (the codecs are checked against them in tests/providers)."""

from __future__ import annotations

import pytest
from factories import make_provider
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_llmbench import errors
from pytest_llmbench.providers import codec_for
from pytest_llmbench.strategies import (
    WIRE_KINDS,
    WireStream,
    assert_parses_to,
    requests,
    splits,
    wire_streams,
)
from pytest_llmbench.types import Completion, Request, ToolCall, Usage

SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@given(st.binary(max_size=200), st.data())
def test_splits_are_non_empty_and_join_to_the_data(data: bytes, draw: st.DataObject) -> None:
    chunks = draw.draw(splits(data))
    assert b"".join(chunks) == data
    assert all(chunks)


@SLOW
@pytest.mark.parametrize("kind", WIRE_KINDS)
@given(request=requests(), data=st.data())
def test_every_codec_builds_any_drawn_request_or_names_what_it_lacks(
    kind: str, request: Request, data: st.DataObject
) -> None:
    provider = make_provider(kind)
    try:
        http = codec_for(kind).build_request(request, provider.model(), provider, "canary-key")
    except errors.UnsupportedParameterError as error:
        unsupported: errors.UnsupportedParameterError | None = error
    else:
        unsupported = None
    if unsupported is not None:
        assert unsupported.message.startswith("Request.")
        return
    assert http.method == "POST"
    assert http.content


@given(requests(stream=True))
def test_requests_can_fix_the_stream_flag(request: Request) -> None:
    assert request.stream
    assert request.messages[-1].role == "user"


@SLOW
@given(wire_streams())
def test_any_kind_is_drawn_with_its_content_type(stream: WireStream) -> None:
    expected = {
        "bedrock": {"application/vnd.amazon.eventstream"},
        "gemini": {"text/event-stream", "application/json"},  # alt=sse, or a JSON array
    }.get(stream.kind, {"text/event-stream"})
    assert stream.content_type in expected
    if stream.content_type == "application/json":
        assert stream.body.startswith(b"[{") and stream.body.endswith(b"}]")
    assert b"".join(stream.chunks) == stream.body


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown wire format 'grpc'; use one of openai"):
        wire_streams("grpc")


EXPECTED = Completion(
    text="hi",
    finish_reason="tool_calls",
    tool_calls=[ToolCall(id="c1", name="f", arguments={"a": 1})],
    usage=Usage(input_tokens=3, output_tokens=2, cached_input_tokens=1),
)


def test_assert_parses_to_accepts_a_faithful_parse_and_ignores_unsent_counts() -> None:
    assert EXPECTED.usage is not None
    parsed = EXPECTED.model_copy(
        update={"usage": EXPECTED.usage.model_copy(update={"reasoning_tokens": 0})}
    )
    assert_parses_to(parsed, EXPECTED)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"text": "h"}, "text: parsed 'h', the wire carried 'hi'"),
        ({"finish_reason": "stop"}, "finish_reason: parsed 'stop'"),
        ({"tool_calls": []}, "tool_calls: parsed []"),
        (
            {"usage": Usage(input_tokens=3, output_tokens=2)},
            "usage.cached_input_tokens: parsed None",
        ),
        ({"usage": None}, "usage.input_tokens: parsed 0"),
    ],
)
def test_assert_parses_to_names_the_first_field_that_differs(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(AssertionError, match=message.replace("[", r"\[").replace("]", r"\]")):
        assert_parses_to(EXPECTED.model_copy(update=change), EXPECTED)
