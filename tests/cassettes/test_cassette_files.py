"""Cassette files: readable errors for broken files, atomic writes, merges under a lock, xdist."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cassette_helpers import Upstream, chat_body, fetch, record

from pytest_llmbench.cassettes import Cassette, CassetteError
from pytest_llmbench.cassettes.storage import lock_path
from pytest_llmbench.modes import RecordMode

VALID = """interactions:
- request:
    method: GET
    uri: https://example.test/v1/models
    headers: {}
    body: null
  response:
    status:
      code: 200
      message: OK
    headers: {content-type: [application/json]}
    body: {string: '{"data": []}'}
    chunks:
    - [1.0, 12]
version: 1
"""


def file_names(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def test_a_yaml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(VALID.replace("    method: GET\n", "    method: [GET\n"))
    with pytest.raises(CassetteError, match=rf"{path}:4: not a readable cassette"):
        Cassette(path)


def test_a_missing_interactions_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("version: 1\nrecorded: []\n")
    with pytest.raises(CassetteError, match="missing the 'interactions' key"):
        Cassette(path)


def test_a_field_of_the_wrong_shape_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(VALID.replace("code: 200", "code: two hundred"))
    with pytest.raises(CassetteError) as caught:
        Cassette(path)
    assert f"{path}:9: interactions[0].response.status.code: expected a number" in str(caught.value)


def test_a_missing_response_is_named(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("interactions:\n- request: {method: GET, uri: 'https://x.test/'}\nversion: 1\n")
    with pytest.raises(CassetteError, match=r"interactions\[0\]: missing the 'response' key"):
        Cassette(path)


def test_chunk_sizes_that_do_not_add_up_to_the_body_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(VALID.replace("[1.0, 12]", "[1.0, 99]"))
    with pytest.raises(CassetteError, match=r"chunks: the chunk sizes add up to 99 bytes"):
        Cassette(path)


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"interactions: [\xff\xfe]\n")
    with pytest.raises(CassetteError, match=rf"{path}: not a readable cassette"):
        Cassette(path)


def test_exists_is_true_for_a_cassette_with_an_interaction(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(VALID)
    assert Cassette.exists(path)


@pytest.mark.parametrize("text", [None, "interactions: []\nversion: 1\n"])
def test_exists_is_false_without_interactions(tmp_path: Path, text: str | None) -> None:
    path = tmp_path / "c.yaml"
    if text is not None:
        path.write_text(text)
    assert not Cassette.exists(path)


@pytest.mark.parametrize("text", ["", "\n  \n"])
def test_an_empty_file_is_an_error_naming_it_not_a_missing_cassette(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(CassetteError, match=r"c\.yaml: empty cassette file.*rewrite"):
        Cassette.exists(path)


def test_exists_reports_a_broken_cassette(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("interactions: [\n")
    with pytest.raises(CassetteError, match=str(path)):
        Cassette.exists(path)


async def test_save_creates_the_directories(tmp_path: Path) -> None:
    path = tmp_path / "cassettes" / "openai" / "test_chat" / "test_hello.yaml"
    await record(path, Upstream())
    assert Cassette.exists(path)


async def test_save_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream(), chat_body("a"))
    await record(path, Upstream(), chat_body("b"), mode="new_episodes")
    assert file_names(tmp_path) == ["c.yaml"]


async def test_saved_cassette_is_readable_by_others(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    await record(path, Upstream())
    assert path.stat().st_mode & 0o644 == 0o644


def test_the_lock_file_is_kept_out_of_the_cassette_directory(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    assert tmp_path not in lock_path(path).parents


async def test_new_episodes_save_merges_with_what_another_writer_saved(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    first = Cassette(path, record_mode="new_episodes")
    second = Cassette(path, record_mode="new_episodes")
    await fetch(first.recording_transport(Upstream().transport), chat_body("from first"))
    await fetch(second.recording_transport(Upstream().transport), chat_body("from second"))
    first.save()
    second.save()
    items = yaml.safe_load(path.read_text())["interactions"]
    contents = [json.loads(item["request"]["body"])["messages"][0]["content"] for item in items]
    assert contents == ["from first", "from second"]


WORKERS = 4
ROUNDS = 5


def echo(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"echo": json.loads(request.content)["n"]})


async def record_echo(path: Path, n: str, mode: RecordMode) -> None:
    cassette = Cassette(path, record_mode=mode)
    transport = cassette.recording_transport(httpx.MockTransport(echo))
    async with httpx.AsyncClient(transport=transport) as client:
        await client.post("https://example.test/v1/echo", json={"n": n})
    cassette.save()


def record_rounds(root: Path, worker: int) -> None:
    """One xdist-like worker: each round adds to the shared cassette and writes its own."""
    for round_ in range(ROUNDS):
        n = f"{worker}-{round_}"
        asyncio.run(record_echo(root / "shared.yaml", n, "new_episodes"))
        asyncio.run(record_echo(root / f"own-{n}.yaml", n, "once"))


def test_parallel_processes_recording_into_one_directory_lose_nothing(tmp_path: Path) -> None:
    # Processes, as pytest-xdist workers are; fork where there is one, as it is much faster
    # than starting interpreters (pytest -n 4 itself takes seconds to start its workers).
    methods = multiprocessing.get_all_start_methods()
    context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    workers = [
        context.Process(target=record_rounds, args=(tmp_path, worker)) for worker in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0] * WORKERS
    names = [f"{worker}-{round_}" for worker in range(WORKERS) for round_ in range(ROUNDS)]
    shared = yaml.safe_load((tmp_path / "shared.yaml").read_text())["interactions"]
    echoed = sorted(json.loads(item["response"]["body"]["string"])["echo"] for item in shared)
    assert echoed == sorted(names)
    for n in names:
        assert Cassette.exists(tmp_path / f"own-{n}.yaml")
    assert file_names(tmp_path) == sorted(["shared.yaml", *(f"own-{n}.yaml" for n in names)])
