"""SSE and JSON-array framing: any split of the bytes gives the same messages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_llmbench.errors import MalformedResponseError
from pytest_llmbench.providers.framing import JSONArrayDecoder, SSEDecoder, SSEMessage
from pytest_llmbench.strategies import splits

STREAM = (
    "event: first\ndata: one\n\n"
    ": ping\n\n"
    "data: multi\ndata: line\r\n\r\n"
    "id: 7\rdata: café ☕\r\r"
    "data:no-space\n\n"
).encode()


def decode(chunks: list[bytes]) -> list[SSEMessage]:
    decoder = SSEDecoder()
    out: list[SSEMessage] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.close()


def test_sse_fields_events_comments_and_line_endings() -> None:
    messages = decode([STREAM])
    assert [(m.event, m.data, m.comment) for m in messages] == [
        ("first", "one", False),
        ("", "ping", True),
        ("message", "multi\nline", False),
        ("message", "café ☕", False),
        ("message", "no-space", False),
    ]
    assert messages[3].id == "7"


@given(splits(STREAM))
def test_sse_any_split_gives_the_same_messages(chunks: list[bytes]) -> None:
    assert decode(chunks) == decode([STREAM])


def test_sse_one_byte_chunks_including_split_utf8_and_crlf() -> None:
    assert decode([bytes([b]) for b in STREAM]) == decode([STREAM])


def test_sse_last_event_without_blank_line_is_kept() -> None:
    assert [m.data for m in decode([b"data: a\n\ndata: b\n"])] == ["a", "b"]


def test_sse_cut_off_line_is_dropped_and_flagged() -> None:
    decoder = SSEDecoder()
    assert [m.data for m in decoder.feed(b'data: a\n\ndata: {"x"')] == ["a"]
    assert decoder.close() == []
    assert decoder.truncated


# Lines of every kind, so a one-line `data:` event meets pending fields, comments, blank runs.
SSE_LINES = st.sampled_from(
    [
        *("data: a", "data: {}", "data:b", "data", "", "", ": ping"),
        *("event: e", "event: ", "event:x", "id: 7", "retry: 1"),
    ]
)


@given(st.data(), st.lists(SSE_LINES, max_size=30))
def test_sse_lf_lines_split_anywhere_decode_as_crlf_lines_do(
    data: st.DataObject, lines: list[str]
) -> None:
    lf = "\n".join(lines).encode()
    chunks = data.draw(splits(lf))
    assert decode(chunks) == decode([lf.replace(b"\n", b"\r\n")])


@given(st.data(), st.lists(st.text(max_size=8) | st.binary(max_size=3), max_size=20))
def test_sse_text_with_bad_utf8_split_anywhere_decodes_as_whole(
    data: st.DataObject, parts: list[str | bytes]
) -> None:
    body = b"".join(b"data: " + (p.encode() if isinstance(p, str) else p) + b"\n" for p in parts)
    assert decode(data.draw(splits(body))) == decode([body])


def test_sse_character_cut_by_a_chunk_and_never_completed_is_replaced() -> None:
    assert [m.data for m in decode([b"data: \xe2\x82", b"x\n\n"])] == ["\ufffdx"]


@given(st.binary(max_size=300))
def test_sse_never_raises_on_random_bytes(data: bytes) -> None:
    decode([data])


ARRAY = b'[{"a": 1, "s": "x]}\\"{"}\r\n,\r\n{"b": [1, {"c": 2}]}\r\n]'


def test_json_array_yields_each_element() -> None:
    decoder = JSONArrayDecoder()
    assert decoder.feed(ARRAY) + decoder.close() == [{"a": 1, "s": 'x]}"{'}, {"b": [1, {"c": 2}]}]
    assert decoder.complete


@given(splits(ARRAY))
def test_json_array_any_split(chunks: list[bytes]) -> None:
    decoder = JSONArrayDecoder()
    items = []
    for chunk in chunks:
        items += decoder.feed(chunk)
    assert items == [{"a": 1, "s": 'x]}"{'}, {"b": [1, {"c": 2}]}]


def test_json_array_rejects_other_shapes() -> None:
    with pytest.raises(MalformedResponseError, match="unexpected 'x'"):
        JSONArrayDecoder().feed(b"x")
    with pytest.raises(MalformedResponseError, match="invalid JSON element"):
        JSONArrayDecoder().feed(b"[{nope}]")


@given(st.binary(max_size=200))
def test_json_array_random_bytes_raise_only_malformed(data: bytes) -> None:
    decoder = JSONArrayDecoder()
    try:
        decoder.feed(data)
        decoder.close()
    except MalformedResponseError:
        pass
