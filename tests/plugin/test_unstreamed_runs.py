"""A request that is not streamed has no TTFT: null in every report, not its e2e time."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pytest_llmbench.reports._format import MISSING

UNSTREAMED_TEST = """
import pytest
from pytest_llmbench import Request

@pytest.mark.mocked
@pytest.mark.asyncio
async def test_whole_answer(llm_bench, llm_mock, benchmark):
    llm_mock.reply("hello world")
    request = Request(messages=[{"role": "user", "content": "Hi"}], stream=False)
    stats = await llm_bench(request, rounds=2, warmup=0)
    assert stats.ok == 2 and stats.e2e_ms.count == 2
"""


def test_unstreamed_requests_have_no_ttft_in_any_report(project: pytest.Pytester) -> None:
    project.makepyfile(UNSTREAMED_TEST)
    result = project.runpytest(
        "--llm-provider=openai",
        "--llm-report=out.json",
        "--llm-csv=out.csv",
        "--llm-html=out.html",
        "--benchmark-json=bench.json",
    )
    result.assert_outcomes(passed=1)
    [run] = json.loads(Path(project.path, "out.json").read_text())["runs"]
    assert run["ttft_ms"]["count"] == 0 and run["ttft_ms"]["p50"] is None
    assert [r["ttft_ms"] for r in run["requests"]] == [None, None]
    assert all(r["e2e_ms"] is not None for r in run["requests"])
    with Path(project.path, "out.csv").open() as rows:
        assert [row["ttft_ms"] for row in csv.DictReader(rows)] == ["", ""]
    html = Path(project.path, "out.html").read_text()
    assert "test_whole_answer" in html
    row = next(line for line in result.stdout.lines if line.startswith(" openai:gpt-a "))
    assert f"{MISSING}/{MISSING}" in row  # the TTFT p50/p95 column
    [entry] = json.loads(Path(project.path, "bench.json").read_text())["benchmarks"]
    assert entry["extra_info"]["ttft_ms_p50"] is None
    assert entry["extra_info"]["ttft_ms_p95"] is None
