"""Hypothesis strategies for property-testing code that builds requests or parses LLM answers.

`requests()`, `messages()` and `tool_specs()` draw valid `Request`s and their parts.
`wire_streams(kind)` draws a provider-exact streamed body (OpenAI chat, OpenAI Responses,
Anthropic, Gemini as `alt=sse` events or as a streamed JSON array, Bedrock), split into chunks
at random points, together with the `Completion` it must parse to; `wire_bodies(kind)` does the
same for non-streamed JSON bodies. The bytes are made by the mock servers' emitters
(`pytest_llmbench.mocking`), written apart from the codecs that parse them, so a round trip
through a parser tests it against an independent encoder.

    from hypothesis import given
    from pytest_llmbench.strategies import WireStream, assert_parses_to, wire_streams

    @given(wire_streams("anthropic"))
    def test_my_parser(stream: WireStream) -> None:
        assert_parses_to(my_parse(stream.chunks), stream.expected)
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from pytest_llmbench.mocking import emitter_for
from pytest_llmbench.mocking.emitter import MockReply, MockToolCall
from pytest_llmbench.types import (
    Completion,
    FinishReason,
    Message,
    Request,
    ToolCall,
    ToolSpec,
    Usage,
)

WIRE_KINDS = ("openai", "openai-responses", "anthropic", "gemini", "bedrock")
# The finish reasons every wire format can express, each normalised back to itself.
ROUND_TRIP_FINISHES: tuple[FinishReason, ...] = ("stop", "length", "content_filter")
_JSON_BODY = "application/json"
_NO_REASONING_COUNT = frozenset({"anthropic", "bedrock"})

# -- text and JSON -----------------------------------------------------------------------------


def texts(*, min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    """Unicode text that UTF-8 can encode (no lone surrogates): emoji, CJK, controls, CR/LF."""
    return st.text(st.characters(codec="utf-8"), min_size=min_size, max_size=max_size)


def names() -> st.SearchStrategy[str]:
    """Identifiers as tool and function names are written: `[A-Za-z_][A-Za-z0-9_-]*`."""
    return st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,30}", fullmatch=True)


def json_values(*, max_leaves: int = 8) -> st.SearchStrategy[Any]:
    """JSON values (no NaN or infinity, so they survive `json.dumps`/`json.loads`)."""
    leaves = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**53), max_value=2**53)
        | st.floats(allow_nan=False, allow_infinity=False)
        | texts(max_size=12)
    )
    return st.recursive(
        leaves,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(texts(max_size=8), inner, max_size=3)
        ),
        max_leaves=max_leaves,
    )


def json_objects(*, max_leaves: int = 8) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects, as tool arguments are."""
    return st.dictionaries(names(), json_values(max_leaves=max_leaves), max_size=4)


# -- requests ----------------------------------------------------------------------------------


def tool_specs() -> st.SearchStrategy[ToolSpec]:
    """Tools with a JSON-schema object of string, number, boolean or enum properties."""
    property_schema = st.sampled_from(
        [
            {"type": "string"},
            {"type": "number"},
            {"type": "integer"},
            {"type": "boolean"},
            {"type": "string", "enum": ["a", "b"]},
            {"type": "array", "items": {"type": "string"}},
        ]
    )
    parameters = st.dictionaries(names(), property_schema, max_size=4).flatmap(
        lambda properties: st.builds(
            lambda required: {
                "type": "object",
                "properties": properties,
                "required": sorted(required),
            },
            st.sets(st.sampled_from(sorted(properties)) if properties else st.nothing()),
        )
    )
    return st.builds(ToolSpec, name=names(), description=texts(max_size=30), parameters=parameters)


def tool_calls() -> st.SearchStrategy[ToolCall]:
    """A model's call of a tool: id, name and JSON-object arguments."""
    return st.builds(
        ToolCall,
        id=st.from_regex(r"call_[A-Za-z0-9]{1,12}", fullmatch=True),
        name=names(),
        arguments=json_objects(),
    )


def messages() -> st.SearchStrategy[Message]:
    """One message of a conversation: system, user, assistant (text or tool calls) or a tool
    result naming its call."""
    return st.one_of(
        st.builds(Message, role=st.just("system"), content=texts(min_size=1)),
        st.builds(Message, role=st.just("user"), content=texts(min_size=1)),
        st.builds(Message, role=st.just("assistant"), content=texts(min_size=1)),
        st.builds(
            Message,
            role=st.just("assistant"),
            content=st.just(""),
            tool_calls=st.lists(tool_calls(), min_size=1, max_size=3),
        ),
        st.builds(
            Message,
            role=st.just("tool"),
            content=texts(min_size=1),
            tool_call_id=st.from_regex(r"call_[A-Za-z0-9]{1,12}", fullmatch=True),
        ),
    )


def requests(*, stream: bool | None = None) -> st.SearchStrategy[Request]:
    """Valid `Request`s: a conversation ending with a user turn, and any sampling options,
    tools, tool choice and stop sequences. `stream` fixes the stream flag when given."""
    conversation = st.builds(
        lambda system, middle, last: [*system, *middle, last],
        st.lists(st.builds(Message, role=st.just("system"), content=texts(min_size=1)), max_size=1),
        st.lists(messages().filter(lambda m: m.role != "system"), max_size=4),
        st.builds(Message, role=st.just("user"), content=texts(min_size=1)),
    )
    return st.builds(
        Request,
        messages=conversation,
        max_tokens=st.none() | st.integers(min_value=1, max_value=4096),
        temperature=st.none() | st.floats(min_value=0, max_value=2),
        top_p=st.none() | st.floats(min_value=0.01, max_value=1),
        stop=st.lists(texts(min_size=1, max_size=8), max_size=3),
        stream=st.booleans() if stream is None else st.just(stream),
        tools=st.lists(tool_specs(), max_size=3, unique_by=lambda tool: tool.name),
        tool_choice=st.none() | st.sampled_from(["auto", "none", "required"]),
        seed=st.none() | st.integers(min_value=0, max_value=2**31 - 1),
    )


# -- answers on the wire -----------------------------------------------------------------------


def usages() -> st.SearchStrategy[Usage]:
    """Token counts; cached input and reasoning tokens, when present, within their totals.

    At least one output token, as every provider counts the end of a turn as one.
    """

    def build(inputs: int, outputs: int, cached: int | None, reasoning: int | None) -> Usage:
        return Usage(
            input_tokens=inputs,
            output_tokens=outputs,
            cached_input_tokens=None if cached is None else min(cached, inputs),
            reasoning_tokens=None if reasoning is None else min(reasoning, outputs),
        )

    count = st.integers(min_value=0, max_value=100_000)
    outputs = st.integers(min_value=1, max_value=100_000)
    return st.builds(build, count, outputs, st.none() | count, st.none() | count)


@dataclass(frozen=True)
class WireAnswer:
    """A scripted answer: the tokens it streams, its tool calls, finish reason and usage."""

    tokens: list[str]
    tool_calls: list[ToolCall]
    finish: FinishReason
    usage: Usage
    model: str
    id: str

    def expected(self, kind: str) -> Completion:
        """The Completion a parser of `kind` must produce: with tool calls, `stop` becomes
        `tool_calls`; usage as far as the wire format carries it (Anthropic and Bedrock have
        no reasoning-token count)."""
        finish: FinishReason = (
            "tool_calls" if self.tool_calls and self.finish == "stop" else self.finish
        )
        usage = self.usage
        if kind in _NO_REASONING_COUNT:
            usage = usage.model_copy(update={"reasoning_tokens": None})
        return Completion(
            text="".join(self.tokens),
            tool_calls=[call.model_copy() for call in self.tool_calls],
            finish_reason=finish,
            usage=usage,
        )

    def reply(self) -> MockReply:
        """The answer as the mock emitters script it."""
        calls = [MockToolCall(c.name, dict(c.arguments), c.id) for c in self.tool_calls]
        return MockReply(
            tokens=list(self.tokens),
            tool_calls=calls,
            usage=self.usage,
            finish=self.finish,
            model=self.model,
            id=self.id,
        )


def answers() -> st.SearchStrategy[WireAnswer]:
    """Scripted answers: text tokens and/or tool calls (unique ids), a finish reason that every
    wire format can carry, usage, model and response id."""
    return st.builds(
        WireAnswer,
        tokens=st.lists(texts(min_size=1, max_size=12), max_size=8),
        tool_calls=st.lists(tool_calls(), max_size=3, unique_by=lambda call: call.id),
        finish=st.sampled_from(ROUND_TRIP_FINISHES),
        usage=usages(),
        model=st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True),
        id=st.from_regex(r"[A-Za-z0-9_-]{1,16}", fullmatch=True),
    )


@st.composite
def splits(draw: st.DrawFn, data: bytes, *, max_cuts: int = 40) -> list[bytes]:
    """`data` cut at random points (even inside a UTF-8 sequence, a CRLF or a frame header):
    non-empty chunks whose concatenation is `data`."""
    if len(data) < 2:
        return [data] if data else []
    cuts = draw(st.sets(st.integers(min_value=1, max_value=len(data) - 1), max_size=max_cuts))
    bounds = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@dataclass(frozen=True)
class WireStream:
    """A provider's streamed body for `answer`, split into `chunks` as a network might deliver
    it; `content_type` is the response's media type and `expected` what it must parse to."""

    kind: str
    content_type: str
    chunks: list[bytes]
    answer: WireAnswer

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    @property
    def expected(self) -> Completion:
        """What a parser of this wire format must produce from the body."""
        return self.answer.expected(self.kind)


@dataclass(frozen=True)
class WireBody:
    """A provider's non-streamed JSON body for `answer`, and what it must parse to."""

    kind: str
    body: bytes
    answer: WireAnswer

    @property
    def content_type(self) -> str:
        return _JSON_BODY

    @property
    def expected(self) -> Completion:
        """What a parser of this wire format must produce from the body."""
        return self.answer.expected(self.kind)


def _kinds(kind: str | None) -> st.SearchStrategy[str]:
    if kind is None:
        return st.sampled_from(WIRE_KINDS)
    if kind not in WIRE_KINDS:
        raise ValueError(f"unknown wire format {kind!r}; use one of {', '.join(WIRE_KINDS)}")
    return st.just(kind)


def wire_streams(kind: str | None = None, *, max_cuts: int = 40) -> st.SearchStrategy[WireStream]:
    """Streamed bodies of `kind` (one of WIRE_KINDS; any when None) split at random points."""

    kinds = _kinds(kind)

    @st.composite
    def build(draw: st.DrawFn) -> WireStream:
        chosen = draw(kinds)
        answer = draw(answers())
        emitter = emitter_for(chosen)
        events = [chunk.data for chunk in emitter.chunks(answer.reply())]
        content_type = emitter.stream_content_type
        if chosen == "gemini" and draw(st.booleans()):
            # streamGenerateContent without alt=sse: the same responses as one JSON array.
            events = [_json_array(events)]
            content_type = _JSON_BODY
        chunks = draw(splits(b"".join(events), max_cuts=max_cuts))
        return WireStream(chosen, content_type, chunks, answer)

    return build()


def _json_array(sse_events: list[bytes]) -> bytes:
    """Gemini's array framing of the objects that `data:` events carry: `[{...},\r\n{...}]`."""
    items = [event.removeprefix(b"data: ").strip() for event in sse_events]
    return b"[" + b",\r\n".join(items) + b"]"


def wire_bodies(kind: str | None = None) -> st.SearchStrategy[WireBody]:
    """Non-streamed JSON bodies of `kind` (one of WIRE_KINDS; any when None)."""

    kinds = _kinds(kind)

    @st.composite
    def build(draw: st.DrawFn) -> WireBody:
        chosen = draw(kinds)
        answer = draw(answers())
        body = emitter_for(chosen).body(answer.reply())
        return WireBody(chosen, json.dumps(body, ensure_ascii=False).encode(), answer)

    return build()


# -- checking a parse --------------------------------------------------------------------------


def assert_parses_to(actual: Completion, expected: Completion) -> None:
    """Assert that `actual` carries what the wire said: text, finish reason, tool calls (id,
    name, arguments) and usage (input and output tokens; cached and reasoning tokens when the
    answer had them). Raises AssertionError naming the first field that differs."""
    checks: list[tuple[str, Any, Any]] = [
        ("text", actual.text, expected.text),
        ("finish_reason", actual.finish_reason, expected.finish_reason),
        (
            "tool_calls",
            [(c.id, c.name, c.arguments) for c in actual.tool_calls],
            [(c.id, c.name, c.arguments) for c in expected.tool_calls],
        ),
    ]
    if expected.usage is not None:
        usage = actual.usage or Usage()
        checks += [
            ("usage.input_tokens", usage.input_tokens, expected.usage.input_tokens),
            ("usage.output_tokens", usage.output_tokens, expected.usage.output_tokens),
        ]
        for name in ("cached_input_tokens", "reasoning_tokens"):
            wanted = getattr(expected.usage, name)
            if wanted is not None:
                checks.append((f"usage.{name}", getattr(usage, name), wanted))
    for field, got, wanted in checks:
        if got != wanted:
            raise AssertionError(f"{field}: parsed {got!r}, the wire carried {wanted!r}")


__all__ = [
    "ROUND_TRIP_FINISHES",
    "WIRE_KINDS",
    "WireAnswer",
    "WireBody",
    "WireStream",
    "answers",
    "assert_parses_to",
    "json_objects",
    "json_values",
    "messages",
    "names",
    "requests",
    "splits",
    "texts",
    "tool_calls",
    "tool_specs",
    "usages",
    "wire_bodies",
    "wire_streams",
]
