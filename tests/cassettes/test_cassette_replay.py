"""Replay: recorded status, allowlisted headers and chunk boundaries, at once or at pace."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from cassette_helpers import SSE_CHUNKS, Upstream, chat_body, fetch, numbered_upstream, record

from pytest_llmbench.cassettes import Cassette, CassetteError
from pytest_llmbench.errors import LLMBenchError
from pytest_llmbench.transport import paced
from pytest_llmbench.transport.timing import REPLAYED_KEY

TOLERANCE_S = 0.005  # the event loop may wake a little before a timer's due time


def slow_upstream(*offsets: float) -> Upstream:
    """An SSE upstream sending one chunk at each offset (seconds)."""
    chunks = [(offset, f"data: {i}\n\n".encode()) for i, offset in enumerate(offsets)]
    return Upstream(lambda request: (200, {"content-type": "text/event-stream"}, chunks))


def write_offsets(path: Path, offsets_ms: list[float], headers_ms: float = 0.0) -> None:
    """A cassette with one SSE interaction whose chunks have the given offsets."""
    chunks = [f"data: {i}\n\n" for i in range(len(offsets_ms))]
    rows = "\n".join(
        f"    - [{offset}, {len(chunk)}]" for offset, chunk in zip(offsets_ms, chunks, strict=True)
    )
    body = "".join(chunks).replace("\n", "\\n")
    path.write_text(
        f"""interactions:
- request:
    method: POST
    uri: https://api.openai.com/v1/chat/completions
    headers: {{content-type: [application/json]}}
    body: '{{"model": "gpt-x", "messages": [{{"role": "user", "content": "hi"}}]}}'
  response:
    status: {{code: 200, message: OK}}
    headers: {{content-type: [text/event-stream]}}
    body: {{string: "{body}"}}
    headers_ms: {headers_ms}
    chunks:
{rows}
version: 1
"""
    )


async def test_replay_yields_the_recorded_chunks_with_their_boundaries(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream())
    fetched = await fetch(Cassette(path).replay_transport())
    assert fetched.chunks == SSE_CHUNKS


async def test_replay_returns_the_recorded_status_and_allowlisted_headers(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    upstream = Upstream(
        lambda request: (
            201,
            {
                "content-type": "application/json",
                "openai-version": "2020-10-01",
                "x-request-id": "req_123",
                "set-cookie": "session=abc",
            },
            [(0, b"{}")],
        )
    )
    await record(path, upstream)
    fetched = await fetch(Cassette(path).replay_transport())
    assert fetched.response.status_code == 201
    assert dict(fetched.response.headers) == {
        "content-type": "application/json",
        "openai-version": "2020-10-01",
    }


async def test_replayed_response_is_marked_replayed(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream())
    fetched = await fetch(Cassette(path).replay_transport())
    assert fetched.response.extensions[REPLAYED_KEY] is True


async def test_replay_never_calls_the_network(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    upstream = Upstream()
    await record(path, upstream)
    await fetch(Cassette(path, record_mode="none").replay_transport())
    assert upstream.calls == 1


def record_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits paced replay asks for, granted at once (an injected sleep, not the clock)."""
    waits: list[float] = []

    async def sleep(delay: float) -> None:
        waits.append(delay)

    monkeypatch.setattr(paced, "asyncio", SimpleNamespace(sleep=sleep))
    return waits


async def test_instant_timing_ignores_the_recorded_offsets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    write_offsets(path, [5000.0, 10000.0, 20000.0], headers_ms=4000.0)
    waits = record_waits(monkeypatch)
    fetched = await fetch(Cassette(path, timing="instant").replay_transport())
    assert len(fetched.chunks) == 3
    assert waits == []


async def test_recorded_timing_replays_chunks_at_their_offsets(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    write_offsets(path, [30.0, 80.0, 150.0], headers_ms=20.0)
    fetched = await fetch(Cassette(path, timing="recorded").replay_transport())
    for arrival, offset_ms in zip(fetched.arrivals, [30.0, 80.0, 150.0], strict=True):
        assert arrival >= offset_ms / 1000 - TOLERANCE_S


async def test_recorded_timing_delays_the_headers_by_the_recorded_time(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    write_offsets(path, [120.0], headers_ms=100.0)
    cassette = Cassette(path, timing="recorded")
    fetched = await fetch(cassette.replay_transport())
    assert fetched.arrivals[0] >= 0.1 - TOLERANCE_S


async def test_a_scale_factor_multiplies_the_recorded_offsets(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    write_offsets(path, [100.0, 400.0])
    fetched = await fetch(Cassette(path, timing=0.25).replay_transport())
    assert fetched.arrivals[1] >= 0.1 - TOLERANCE_S


async def test_a_scale_factor_shortens_every_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    write_offsets(path, [100.0, 400.0])
    waits = record_waits(monkeypatch)
    await fetch(Cassette(path, timing=0.25).replay_transport())
    assert waits  # it does wait, and never past the scaled offset of the last chunk (0.1 s)
    assert all(wait <= 0.1 for wait in waits)


async def test_replay_at_recorded_pace_reproduces_recorded_gaps(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, slow_upstream(0.0, 0.06))
    fetched = await fetch(Cassette(path, timing="recorded").replay_transport())
    # Chunks are due at their recorded offsets from the request's start (the second one came
    # 0.06 s in): a late first chunk on a busy machine does not move the second one's time.
    assert fetched.arrivals[1] >= 0.05


def test_an_unknown_timing_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timing"):
        Cassette(tmp_path / "c.yaml", timing="fast")  # type: ignore[arg-type]


def test_a_negative_scale_factor_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timing"):
        Cassette(tmp_path / "c.yaml", timing=-1.0)


async def test_unmatched_request_raises_a_cassette_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream())
    with pytest.raises(CassetteError) as caught:
        await fetch(Cassette(path).replay_transport(), chat_body("something else"))
    assert isinstance(caught.value, LLMBenchError)
    assert str(path) in str(caught.value)


async def test_unmatched_request_error_shows_a_diff_against_the_closest_recording(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream(), chat_body("first question"), chat_body("second question"))
    with pytest.raises(CassetteError) as caught:
        await fetch(Cassette(path).replay_transport(), chat_body("second questions"))
    message = str(caught.value)
    assert "interaction #1" in message
    assert '-      "content": "second question",' in message
    assert '+      "content": "second questions",' in message


async def test_closest_recording_prefers_the_same_method_and_url(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    cassette = Cassette(path, record_mode="once")
    transport = cassette.recording_transport(Upstream().transport)
    await fetch(transport, chat_body("same body"), url="https://api.openai.com/v1/other")
    await fetch(transport, chat_body("quite a different body, really"))
    cassette.save()
    with pytest.raises(CassetteError) as caught:
        await fetch(Cassette(path).replay_transport(), chat_body("same body"))
    assert "closest recorded request is interaction #1" in str(caught.value)


async def test_unmatched_request_error_gives_the_rewrite_hint(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream())
    with pytest.raises(CassetteError, match="re-record with --llm-record-mode=rewrite"):
        await fetch(Cassette(path).replay_transport(), chat_body("other"))


async def test_unmatched_request_error_shows_the_record_command_in_rewrite_mode(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream())
    command = "pytest 'tests/test_chat.py::test_hello[openai]' --llm-record-mode=once"
    cassette = Cassette(path, record_command=command)
    with pytest.raises(CassetteError) as caught:
        await fetch(cassette.replay_transport(), chat_body("other"))
    assert "pytest 'tests/test_chat.py::test_hello[openai]' --llm-record-mode=rewrite" in str(
        caught.value
    )


async def test_each_recording_plays_once_in_order_for_identical_requests(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, numbered_upstream(), chat_body(), chat_body())
    transport = Cassette(path).replay_transport()
    first, second = [(await fetch(transport)).body for _ in range(2)]
    assert (first, second) == (b'{"n": 1}', b'{"n": 2}')
    with pytest.raises(CassetteError, match="already played"):
        await fetch(transport)


async def test_playback_repeats_replay_an_interaction_any_number_of_times(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream())
    transport = Cassette(path, allow_playback_repeats=True).replay_transport()
    bodies = [(await fetch(transport)).body for _ in range(5)]
    assert bodies == [b"".join(SSE_CHUNKS)] * 5


async def test_play_counts_count_replays_per_interaction(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream(), chat_body("a"), chat_body("b"))
    cassette = Cassette(path, allow_playback_repeats=True)
    for _ in range(3):
        await fetch(cassette.replay_transport(), chat_body("b"))
    assert cassette.play_counts == {1: 3}


async def test_unplayed_lists_the_recordings_never_played(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream(), chat_body("a"), chat_body("b"))
    cassette = Cassette(path)
    await fetch(cassette.replay_transport(), chat_body("b"))
    assert cassette.unplayed() == ["#0 POST https://api.openai.com/v1/chat/completions -> 200"]


async def test_a_cassette_without_chunk_offsets_replays_as_one_chunk(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        """interactions:
- request: {method: GET, uri: 'https://example.test/v1/models', headers: {}, body: null}
  response:
    status: {code: 200, message: OK}
    headers: {content-type: [application/json]}
    body: {string: '{"data": []}'}
version: 1
"""
    )
    fetched = await fetch(
        Cassette(path).replay_transport(), method="GET", url="https://example.test/v1/models"
    )
    assert fetched.chunks == [b'{"data": []}']
