"""Matching: method, URL without volatile query parts, and the body (JSON parsed, or raw)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cassette_helpers import URL, Upstream, chat_body, fetch
from vcr.request import Request as VcrRequest

from pytest_llmbench.cassettes import Cassette, CassetteError
from pytest_llmbench.cassettes.matching import ReplayIndex, RequestMatcher, normalized_uri


async def record_one(path: Path, body: object = None, **request: object) -> None:
    cassette = Cassette(path, record_mode="once")
    await fetch(cassette.recording_transport(Upstream().transport), body, **request)  # type: ignore[arg-type]
    cassette.save()


async def replays(
    path: Path, body: object = None, *, match_ignore: tuple[str, ...] = (), **request: object
) -> bool:
    cassette = Cassette(path, match_ignore=match_ignore)
    try:
        await fetch(cassette.replay_transport(), body, **request)  # type: ignore[arg-type]
    except CassetteError:
        return False
    return True


async def test_key_query_parameter_is_ignored_when_matching(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record_one(path, url=f"{URL}?alt=sse&key=recorded-key")
    assert await replays(path, url=f"{URL}?alt=sse&key=another-key")


async def test_aws_signature_query_parameters_are_ignored_when_matching(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record_one(path, url=f"{URL}?X-Amz-Date=20240101T000000Z&X-Amz-Signature=aaa")
    assert await replays(path, url=f"{URL}?X-Amz-Date=20250101T000000Z&X-Amz-Signature=bbb")


async def test_other_query_parameters_must_match(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record_one(path, url=f"{URL}?alt=sse")
    assert not await replays(path, url=f"{URL}?alt=json")


async def test_method_must_match(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record_one(path, method="GET")
    assert not await replays(path, method="DELETE")


async def test_json_bodies_match_regardless_of_key_order_and_spacing(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record_one(
        path,
        content=b'{"model":"gpt-x","stream":true}',
        headers={"content-type": "application/json"},
    )
    assert await replays(path, content=b'{ "stream": true,\n "model": "gpt-x" }')


async def test_json_bodies_with_different_values_do_not_match(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record_one(path, chat_body("a"))
    assert not await replays(path, chat_body("b"))


async def test_match_ignore_paths_are_left_out_of_matching(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record_one(path, chat_body(metadata={"user_id": "u-1", "team": "x"}))
    body = chat_body(metadata={"user_id": "u-2", "team": "x"})
    assert await replays(path, body, match_ignore=("metadata.user_id",))


async def test_match_ignore_leaves_the_rest_of_the_body_compared(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record_one(path, chat_body(metadata={"user_id": "u-1", "team": "x"}))
    body = chat_body(metadata={"user_id": "u-2", "team": "y"})
    assert not await replays(path, body, match_ignore=("metadata.user_id",))


async def test_match_ignore_wildcard_reaches_into_every_list_item(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    recorded = chat_body()
    recorded["messages"][0]["cache_control"] = {"type": "ephemeral"}
    await record_one(path, recorded)
    assert await replays(path, chat_body(), match_ignore=("messages.*.cache_control",))


async def test_a_key_in_the_body_is_ignored_when_matching(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record_one(path, chat_body(api_key="recorded-key-123"))
    assert await replays(path, chat_body(api_key="another-key-456"))


async def test_non_json_bodies_are_compared_raw(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record_one(path, content=b"\x00\x01binary payload")
    assert await replays(path, content=b"\x00\x01binary payload")
    assert not await replays(path, content=b"\x00\x02binary payload")


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("https://API.example.com", "https://api.example.com/"),
        ("https://x.test/p?b=2&a=1", "https://x.test/p?a=1&b=2"),
        ("https://x.test/p?key=k&api-key=k&api_key=k&sig=s&x=1", "https://x.test/p?x=1"),
        ("https://x.test/p?X-Amz-Credential=c&X-Amz-Security-Token=t", "https://x.test/p"),
    ],
)
def test_normalized_uri_drops_volatile_parts(uri: str, expected: str) -> None:
    assert normalized_uri(uri) == expected


def test_the_replay_index_finds_recordings_by_key_in_order() -> None:
    def post(content: str) -> VcrRequest:
        body = json.dumps({"messages": [{"role": "user", "content": content}]}).encode()
        return VcrRequest("POST", "https://api.example/v1/chat", body, {})

    recorded = [post("a"), post("b"), post("a")]
    index = ReplayIndex(RequestMatcher())
    assert index.candidates(post("a"), recorded) == [0, 2]
    recorded.append(post("b"))  # recorded later in the run: indexed on the next lookup
    assert index.candidates(post("b"), recorded) == [1, 3]
    assert index.candidates(post("c"), recorded) == []
