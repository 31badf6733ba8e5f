"""The two front ends of a distributed run: `llm_bench.load(workers=N)` and `llmbench run
--workers N`, on the session's local Ray instance."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from distributed_helpers import CANARY_ENV, Hold, loopback_provider, threaded_sse_server
from loopback import Server

from pytest_llmbench import LLMClient
from pytest_llmbench.bench import LLMBench
from pytest_llmbench.cli import main
from pytest_llmbench.stats import RunStats


async def test_llm_bench_load_with_workers_reports_one_merged_run(
    ray_local: Any, sse_server: tuple[Server, list[Hold]]
) -> None:
    server, _ = sse_server
    provider = loopback_provider(server)
    reported: list[RunStats] = []
    async with LLMClient(provider) as client:
        bench = LLMBench(client, name="sharded", on_stats=reported.append)
        stats = await bench.load(["a", "b", "c"], concurrency=2, count=6, workers=2)
    assert reported == [stats]
    assert (stats.name, stats.count, stats.ok) == ("sharded", 6, 6)
    assert sorted(m.prompt_id for m in stats.requests) == ["0", "0", "1", "1", "2", "2"]
    assert {m.worker for m in stats.requests} == {0, 1}


def test_llmbench_run_with_workers_writes_every_row(
    ray_local: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("Say hello\nCount to three\n", encoding="utf-8")
    output = tmp_path / "out.csv"
    with threaded_sse_server() as server:
        (tmp_path / "models.toml").write_text(
            f"""
[providers.loop]
kind = "openai"
base_url = "{server.url}/v1"
api_key_env = "{CANARY_ENV}"
max_retries = 0

[[providers.loop.models]]
id = "m"
context_window = 8192
input_per_mtok = 0
output_per_mtok = 0
""",
            encoding="utf-8",
        )
        code = main(
            [
                "run", "--config", str(tmp_path / "models.toml"), "--provider", "loop",
                "--prompts", str(prompts), "--requests", "8", "--concurrent", "2",
                "--workers", "2", "--output", str(output), "--format", "json",
            ]
        )  # fmt: skip
    assert code == 0
    rows = list(csv.DictReader(output.open(encoding="utf-8")))
    assert len(rows) == 8
    assert all(row["ttft_ms"] and not row["error"] for row in rows)
    assert len(server.seen) == 8
    err = capsys.readouterr().err
    assert "loop:m: worker 0 (" in err and "loop:m: worker 1 (" in err
