"""Record modes, as in vcrpy and pytest-recording: none, once, new_episodes, all, rewrite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cassette_helpers import Upstream, chat_body, fetch, numbered_upstream, record

from pytest_llmbench.cassettes import Cassette, CassetteError
from pytest_llmbench.modes import RecordMode
from pytest_llmbench.transport.timing import REPLAYED_KEY


def stored_contents(path: Path) -> list[str]:
    """The user message of each stored request, in file order."""
    items = yaml.safe_load(path.read_text())["interactions"]
    return [json.loads(item["request"]["body"])["messages"][0]["content"] for item in items]


def stored_bodies(path: Path) -> list[str]:
    return [
        item["response"]["body"]["string"]
        for item in yaml.safe_load(path.read_text())["interactions"]
    ]


async def test_none_replays_without_calling_upstream(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream())
    upstream = Upstream()
    cassette = Cassette(path, record_mode="none")
    await fetch(cassette.recording_transport(upstream.transport))
    assert upstream.calls == 0


async def test_none_refuses_a_request_it_has_not_recorded(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream())
    upstream = Upstream()
    cassette = Cassette(path, record_mode="none")
    with pytest.raises(CassetteError, match="record mode 'none'"):
        await fetch(cassette.recording_transport(upstream.transport), chat_body("new"))
    assert upstream.calls == 0


async def test_none_never_writes(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    cassette = Cassette(path, record_mode="none")
    with pytest.raises(CassetteError):
        await fetch(cassette.recording_transport(Upstream().transport))
    cassette.save()
    assert not path.exists()


async def test_once_records_everything_into_a_new_cassette(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    upstream = Upstream()
    cassette = await record(path, upstream, chat_body("a"), chat_body("b"))
    assert upstream.calls == 2
    assert cassette.new_interactions == 2
    assert stored_contents(path) == ["a", "b"]


async def test_once_replays_from_an_existing_cassette(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream())
    upstream = Upstream()
    cassette = Cassette(path, record_mode="once")
    await fetch(cassette.recording_transport(upstream.transport))
    assert upstream.calls == 0


async def test_once_refuses_new_requests_to_an_existing_cassette(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream())
    upstream = Upstream()
    cassette = Cassette(path, record_mode="once")
    with pytest.raises(CassetteError, match="'once' does not add requests"):
        await fetch(cassette.recording_transport(upstream.transport), chat_body("new"))
    assert upstream.calls == 0


async def test_new_episodes_replays_known_requests_and_records_new_ones(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream(), chat_body("old"))
    upstream = Upstream()
    cassette = Cassette(path, record_mode="new_episodes")
    transport = cassette.recording_transport(upstream.transport)
    await fetch(transport, chat_body("old"))
    await fetch(transport, chat_body("new"))
    cassette.save()
    assert upstream.calls == 1
    assert stored_contents(path) == ["old", "new"]


async def test_all_calls_upstream_even_for_recorded_requests(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream())
    upstream = Upstream()
    cassette = Cassette(path, record_mode="all")
    await fetch(cassette.recording_transport(upstream.transport))
    assert upstream.calls == 1


async def test_all_replaces_rerecorded_interactions_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, numbered_upstream(), chat_body("kept"), chat_body("redone"))
    upstream = Upstream(lambda request: (200, {"content-type": "application/json"}, [(0, b"{}")]))
    cassette = Cassette(path, record_mode="all")
    await fetch(cassette.recording_transport(upstream.transport), chat_body("redone"))
    cassette.save()
    assert stored_contents(path) == ["kept", "redone"]
    assert stored_bodies(path) == ['{"n": 1}', "{}"]


async def test_all_does_not_count_replaced_interactions_as_unplayed(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream(), chat_body("kept"), chat_body("redone"))
    cassette = Cassette(path, record_mode="all")
    await fetch(cassette.recording_transport(Upstream().transport), chat_body("redone"))
    assert [line.split()[0] for line in cassette.unplayed()] == ["#0"]


async def test_rewrite_ignores_the_existing_cassette(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream())
    upstream = Upstream()
    cassette = Cassette(path, record_mode="rewrite")
    await fetch(cassette.recording_transport(upstream.transport))
    assert upstream.calls == 1


async def test_rewrite_replaces_the_file_with_what_was_recorded(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream(), chat_body("old one"), chat_body("old two"))
    await record(path, Upstream(), chat_body("new"), mode="rewrite")
    assert stored_contents(path) == ["new"]


async def test_rewrite_replaces_a_corrupt_cassette(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("interactions: [oops\n")
    await record(path, Upstream(), chat_body("new"), mode="rewrite")
    assert stored_contents(path) == ["new"]


async def test_saving_twice_does_not_duplicate_interactions(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    cassette = await record(path, Upstream(), chat_body("a"), mode="new_episodes")
    cassette.save()
    assert stored_contents(path) == ["a"]


async def test_save_writes_nothing_when_nothing_was_recorded(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream())
    before = path.stat().st_mtime_ns
    cassette = Cassette(path, record_mode="new_episodes")
    await fetch(cassette.recording_transport(Upstream().transport))
    cassette.save()
    assert path.stat().st_mtime_ns == before


def test_an_unknown_record_mode_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="record mode"):
        Cassette(tmp_path / "c.yaml", record_mode="sometimes")  # type: ignore[arg-type]


async def test_answers_replayed_while_recording_are_marked_replayed(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream(), chat_body("old"))
    cassette = Cassette(path, record_mode="new_episodes")
    transport = cassette.recording_transport(Upstream().transport)
    replayed = await fetch(transport, chat_body("old"))
    recorded = await fetch(transport, chat_body("new"))
    assert replayed.response.extensions.get(REPLAYED_KEY) is True
    assert REPLAYED_KEY not in recorded.response.extensions


@pytest.mark.parametrize("mode", ["rewrite", "new_episodes", "all"])
async def test_identical_requests_while_recording_all_go_out(
    tmp_path: Path, mode: RecordMode
) -> None:
    # A benchmark records the same request several times: none may be answered from the
    # recording made moments before, or the benchmark would time a replay.
    upstream = numbered_upstream()
    cassette = await record(
        tmp_path / "c.yaml", upstream, chat_body(), chat_body(), chat_body(),
        mode=mode, allow_playback_repeats=True,
    )  # fmt: skip
    assert upstream.calls == 3
    assert cassette.new_interactions == 3
