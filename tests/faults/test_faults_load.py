"""Hostile servers under load: a failed request is one error row, nothing is lost or leaked."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from hostile import (
    CLOSE,
    LOOP,
    READ,
    Hold,
    Script,
    ScriptFor,
    chunk,
    head,
    hostile_server,
    hostile_server_thread,
    whole,
)
from hostile_clients import GOOD_STREAM, STREAMED, client_for, guarded, provider_at, sse, text_chunk

from pytest_llmbench import LLMClient
from pytest_llmbench.cli import main
from pytest_llmbench.load import LoadRun, LoadShape, cycle_requests

NOT_HTTP = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nno colon here\r\n\r\n"


def one_bad_answer_in(every: int) -> ScriptFor:
    """Scripts: one request per connection; the `every`-th, `2 * every`-th, ... connection is
    answered with broken HTTP."""

    def script(number: int) -> Script:
        if number % every == every - 1:
            return [READ, NOT_HTTP + GOOD_STREAM, CLOSE]
        return [READ, whole(200, GOOD_STREAM, "text/event-stream", connection="close"), CLOSE]

    return script


async def test_one_broken_answer_in_a_load_is_one_error_row_and_the_run_completes() -> None:
    async with (
        hostile_server(one_bad_answer_in(5)) as server,
        client_for(provider_at(server.url)) as client,
    ):
        shape = LoadShape(concurrency=4, count=60)
        stats = await guarded(LoadRun(client, cycle_requests([STREAMED]), shape).run())
    assert stats.count == 60
    assert stats.errors == {"MalformedResponseError": 12}
    assert stats.ok == 48
    assert len(server.requests) == 60


async def test_2000_requests_at_concurrency_128_lose_nothing() -> None:
    async with (
        hostile_server([[READ, whole(200, GOOD_STREAM, "text/event-stream"), LOOP]]) as s,
        client_for(provider_at(s.url)) as client,
    ):
        shape = LoadShape(concurrency=128, count=2000)
        stats = await guarded(LoadRun(client, cycle_requests([STREAMED]), shape).run())
    assert (stats.count, stats.ok, stats.errors) == (2000, 2000, {})
    assert len(s.requests) == 2000
    assert sum(r.retries for r in stats.requests) == 0


async def _consume(client: LLMClient, got_text: asyncio.Event) -> None:
    async for event in client.stream(STREAMED):
        if event.type == "text":
            got_text.set()  # the next read waits on the stalled server


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts fds through /proc")
async def test_cancelled_streams_leave_no_open_sockets_or_tasks() -> None:
    stall: Script = [READ, head(transfer_encoding="chunked"), chunk(sse(text_chunk("Hel"))), Hold()]
    fds_before = _open_fds()
    tasks_before = len(asyncio.all_tasks())
    async with hostile_server([stall]) as server:
        client = client_for(provider_at(server.url))
        for _ in range(20):
            got_text = asyncio.Event()
            task = asyncio.ensure_future(_consume(client, got_text))
            await guarded(got_text.wait())
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    # The server is gone (its sockets closed); the client is still open: a socket it did not
    # close on cancel would still be an open fd here.
    assert _open_fds() <= fds_before
    assert len(asyncio.all_tasks()) <= tasks_before
    await client.aclose()
    assert len(server.requests) == 20


def test_llmbench_run_writes_every_report_when_a_request_gets_broken_http(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("Say hello\n", encoding="utf-8")
    with hostile_server_thread(one_bad_answer_in(4)) as server:
        config = tmp_path / "models.toml"
        config.write_text(
            f"""
[providers.hostile]
kind = "openai"
base_url = "{server.url}/v1"
max_retries = 0

[[providers.hostile.models]]
id = "test-model"
context_window = 8192
input_per_mtok = 0
output_per_mtok = 0
""",
            encoding="utf-8",
        )
        csv_path, html_path = tmp_path / "run.csv", tmp_path / "run.html"
        code = main(
            [
                "run", "--prompts", str(prompts), "-p", "hostile", "-n", "12", "--stream",
                "--concurrent", "2", "--output", str(csv_path), "--html", str(html_path),
                "--format", "json", "--config", str(config),
            ]
        )  # fmt: skip
    captured = capsys.readouterr()
    assert "internal error" not in captured.err
    assert code == 0  # some requests succeeded
    report = json.loads(captured.out)
    rows = report["runs"][0]["requests"]
    assert len(rows) == 12
    assert [row["error"] for row in rows].count("MalformedResponseError") == 3
    assert len(csv_path.read_text(encoding="utf-8").splitlines()) == 13  # header + 12 rows
    assert html_path.stat().st_size > 0
