"""The cassette text: every body survives a write and a read, chunk boundaries included."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_llmbench.cassettes import serialization
from pytest_llmbench.cassettes.serialization import (
    dumps,
    loads,
    new_response,
    replay_chunks,
    stored_request,
)

URI = "https://api.openai.com/v1/chat/completions"


def interaction(content_type: str, chunks: list[bytes]) -> tuple[object, dict[str, object]]:
    request = stored_request("POST", URI, {"content-type": "application/json"}, b'{"a": 1}')
    offsets = [(float(i + 1), len(chunk)) for i, chunk in enumerate(chunks)]
    body = b"".join(chunks)
    response = new_response(200, "OK", {"content-type": [content_type]}, body, 0.5, offsets)
    return request, response


@given(st.lists(st.text(min_size=1), max_size=5))
def test_any_text_body_survives_with_its_chunk_boundaries(texts: list[str]) -> None:
    chunks = [text.encode("utf-8", "surrogatepass") for text in texts]
    text = dumps([interaction("text/event-stream", chunks)])
    [(_, response)] = loads(text, "c.yaml")
    assert [data for _, data in replay_chunks(response)] == chunks


@given(st.lists(st.binary(min_size=1), max_size=5))
def test_any_binary_body_survives_with_its_chunk_boundaries(chunks: list[bytes]) -> None:
    text = dumps([interaction("application/vnd.amazon.eventstream", chunks)])
    [(_, response)] = loads(text, "c.yaml")
    assert [data for _, data in replay_chunks(response)] == chunks


@given(st.lists(st.binary(min_size=1), max_size=5))
def test_undecodable_bytes_under_a_text_type_survive(chunks: list[bytes]) -> None:
    text = dumps([interaction("text/plain", chunks)])
    [(_, response)] = loads(text, "c.yaml")
    assert b"".join(data for _, data in replay_chunks(response)) == b"".join(chunks)


def test_the_document_is_vcrpy_format_version_1() -> None:
    text = dumps([interaction("text/event-stream", [b"data: 1\n\n"])])
    assert text.startswith("interactions:\n- request:\n")
    assert text.endswith("version: 1\n")


def test_chunk_rows_are_one_line_each() -> None:
    text = dumps([interaction("text/event-stream", [b"data: 1\n\n", b"data: 2\n\n"])])
    assert "    chunks:\n    - [1.0, 9]\n    - [2.0, 9]\n" in text


@pytest.mark.parametrize("char", ["\x85", "\u2028", "\u2029", "\r", "\ufeff"])
def test_text_with_characters_yaml_folds_survives_exactly(char: str) -> None:
    body = f"data: a{char}b\n\ndata: {char}\n\n".encode()
    [(_, response)] = loads(dumps([interaction("text/event-stream", [body])]), "c.yaml")
    assert response["body"]["string"] == body


def test_sse_text_is_written_as_a_block_string() -> None:
    text = dumps([interaction("text/event-stream", [b"data: 1\n\n"])])
    assert "      string: |+\n        data: 1\n\n" in text


def test_a_json_request_body_with_an_escaped_lone_surrogate_stays_escaped() -> None:
    request = stored_request("POST", URI, {}, b'{"text": "\\ud800"}')
    assert request.body == b'{\n  "text": "\\ud800"\n}'


@pytest.mark.parametrize("vcrpy_parser", [True, False])
def test_both_parsers_read_old_vcrpy_python_tags(
    monkeypatch: pytest.MonkeyPatch, vcrpy_parser: bool
) -> None:
    monkeypatch.setattr(serialization, "_VCRPY_LOADER_WORKS", vcrpy_parser)
    text = """interactions:
- request:
    body: !!python/object/new:_io.BytesIO
      state: !!python/tuple [!!binary 'e30=', 0, null]
    headers: {}
    method: !!python/str POST
    uri: https://x.test/
  response:
    body: {string: ok}
    headers: {}
    status: {code: 200, message: OK}
version: 1
"""
    [(request, response)] = loads(text, "c.yaml")
    assert (request.method, request.body, response["body"]["string"]) == ("POST", b"{}", b"ok")
