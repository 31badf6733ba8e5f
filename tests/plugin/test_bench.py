"""llm_bench in real pytest sessions: exact request counts, stats, pytest-benchmark, xdist."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

BENCH_TEST = """
import pytest

@pytest.mark.mocked
@pytest.mark.asyncio
async def test_latency(llm_bench, llm_mock, benchmark):
    llm_mock.stream(["a", "b", "c"], ttft=0.02, itl=0.005, usage={"input_tokens": 4, "output_tokens": 3})
    stats = await llm_bench("Hi", rounds=4, warmup=1)
    assert len(llm_mock.requests) == 5
    assert stats.count == 4 and stats.ok == 4
    assert stats.ttft_ms.min >= 20
    assert stats.output_tokens == 12

@pytest.mark.mocked
def test_sync_latency(llm_bench, llm_mock):
    llm_mock.reply("hello world")
    stats = llm_bench("Hi", rounds=2, warmup=0)
    assert stats.count == 2 and len(llm_mock.requests) == 2
"""


def test_rounds_send_exactly_warmup_plus_rounds(project: pytest.Pytester) -> None:
    project.makepyfile(BENCH_TEST)
    result = project.runpytest("--llm-provider=openai", "-p", "no:randomly")
    result.assert_outcomes(passed=2)


def test_runs_appear_in_pytest_benchmark_json(project: pytest.Pytester) -> None:
    project.makepyfile(BENCH_TEST)
    result = project.runpytest("--llm-provider=openai", "--benchmark-json=bench.json")
    result.assert_outcomes(passed=2)
    data = json.loads(Path(project.path, "bench.json").read_text())
    # test_sync_latency has no `benchmark` argument and is fed all the same
    by_name = {b["name"]: b for b in data["benchmarks"]}
    assert set(by_name) == {"test_latency[openai:gpt-a]", "test_sync_latency[openai:gpt-a]"}
    entry = by_name["test_latency[openai:gpt-a]"]
    assert entry["name"] == "test_latency[openai:gpt-a]"
    assert entry["stats"]["rounds"] == 4
    assert entry["stats"]["min"] >= 0.02  # e2e seconds, at least the ttft
    assert entry["extra_info"]["provider"] == "openai"
    assert entry["extra_info"]["ttft_ms_p50"] >= 20
    assert entry["extra_info"]["errors"] == 0


def test_measure_rejects_a_coroutine_object(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        async def call():
            return 1

        @pytest.mark.mocked
        @pytest.mark.asyncio
        async def test_misuse(llm_bench):
            with pytest.raises(TypeError, match="not a coroutine it already made"):
                await llm_bench.measure(call())
            with pytest.raises(TypeError, match="returned int, not an awaitable"):
                await llm_bench.measure(lambda: 1)
            stats = await llm_bench.measure(call, rounds=3, warmup=0)
            assert stats.count == 3
        """
    )
    project.runpytest("--llm-provider=openai").assert_outcomes(passed=1)


def test_session_summary_and_json_report(project: pytest.Pytester) -> None:
    project.makepyfile(BENCH_TEST)
    result = project.runpytest("--llm-provider=openai", "--llm-report=out.json")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*llmbench*", "*openai:gpt-a*"])
    data = json.loads(Path(project.path, "out.json").read_text())
    assert {run["name"] for run in data["runs"]} == {
        "test_session_summary_and_json_report.py::test_latency",
        "test_session_summary_and_json_report.py::test_sync_latency",
    }
    assert len(data["outcomes"]) == 2


def test_xdist_workers_send_their_runs_to_the_controller(project: pytest.Pytester) -> None:
    project.makepyfile(BENCH_TEST)
    result = project.runpytest("--llm-provider=openai", "-n", "2", "--llm-report=out.json")
    result.assert_outcomes(passed=2)
    data = json.loads(Path(project.path, "out.json").read_text())
    assert sorted(run["count"] for run in data["runs"]) == [2, 4]


def test_measure_gives_sdk_calls_full_metrics(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import openai
        import pytest

        @pytest.mark.mocked
        @pytest.mark.asyncio
        async def test_sdk_latency(llm_bench, llm_mock, llm_http_client, llm_provider):
            llm_mock.stream(["a", "b", "c"], ttft=0.03, itl=0.01,
                            usage={"input_tokens": 7, "output_tokens": 3})
            sdk = openai.AsyncOpenAI(api_key="x", base_url=llm_provider.base_url,
                                     http_client=llm_http_client, max_retries=0)

            async def call():
                stream = await sdk.chat.completions.create(
                    model="gpt-a", messages=[{"role": "user", "content": "Hi"}], stream=True,
                    stream_options={"include_usage": True})
                async for _ in stream:
                    pass

            stats = await llm_bench.measure(call, rounds=3, warmup=0)
            assert stats.count == 3 and stats.ok == 3
            assert stats.ttft_ms.min >= 30          # measured at the first output chunk
            assert stats.ttft_ms.max < stats.e2e_ms.max
            assert stats.itl_ms.count == 3
            assert stats.output_tokens == 9 and stats.input_tokens == 21
            assert not stats.usage_estimated
            assert stats.cost_usd == pytest.approx(3 * (7 * 1.0 + 3 * 2.0) / 1e6)
        """
    )
    project.runpytest("--llm-provider=openai").assert_outcomes(passed=1)


def test_pytest_benchmark_output_is_the_same_under_xdist(project: pytest.Pytester) -> None:
    project.makepyfile(BENCH_TEST)
    serial = project.runpytest("--llm-provider=openai", "--benchmark-json=serial.json")
    serial.assert_outcomes(passed=2)
    parallel = project.runpytest(
        "--llm-provider=openai", "-n", "2", "--benchmark-json=parallel.json"
    )
    parallel.assert_outcomes(passed=2)
    parallel.stdout.fnmatch_lines(["*benchmark: 2 tests*"])
    one, two = (
        json.loads(Path(project.path, f).read_text())["benchmarks"]
        for f in ("serial.json", "parallel.json")
    )
    assert sorted(b["fullname"] for b in one) == sorted(b["fullname"] for b in two)
    rounds = sorted(b["stats"]["rounds"] for b in one)
    assert rounds == sorted(b["stats"]["rounds"] for b in two) == [2, 4]
    assert {b["extra_info"]["provider"] for b in two} == {"openai"}


def test_benchmark_autosave_and_compare_work(project: pytest.Pytester) -> None:
    project.makepyfile(BENCH_TEST)
    project.runpytest("--llm-provider=openai", "--benchmark-autosave").assert_outcomes(passed=2)
    [saved] = Path(project.path, ".benchmarks").rglob("*.json")
    names = {b["name"] for b in json.loads(saved.read_text())["benchmarks"]}
    assert "test_latency[openai:gpt-a]" in names
    result = project.runpytest("--llm-provider=openai", "--benchmark-compare")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_latency*(NOW)*"])
    result.stdout.fnmatch_lines(["*test_latency*(0001*"])


def test_load_reads_prompt_files_with_seeded_random_selection(project: pytest.Pytester) -> None:
    project.makefile(".jsonl", prompts='{"id": "a", "prompt": "A"}\n{"id": "b", "prompt": "B"}\n')
    project.makepyfile(
        """
        import pytest

        @pytest.mark.mocked
        @pytest.mark.asyncio
        async def test_load(llm_bench, llm_mock):
            llm_mock.reply("ok")
            stats = await llm_bench.load(prompts="prompts.jsonl", selection="random", seed=3,
                                         max_tokens=5, concurrency=2, count=6)
            again = await llm_bench.load(prompts="prompts.jsonl", selection="random", seed=3,
                                         max_tokens=5, concurrency=1, count=6)
            first = sorted(m.prompt_id for m in stats.requests)
            assert first == sorted(m.prompt_id for m in again.requests)
            assert set(first) <= {"a", "b"}
            sent = {r.json["messages"][0]["content"] for r in llm_mock.requests}
            assert sent <= {"A", "B"} and all(r.json["max_tokens"] == 5 for r in llm_mock.requests)
            with pytest.raises(ValueError, match="give requests or prompts"):
                await llm_bench.load(count=1, concurrency=1)
        """
    )
    project.runpytest("--llm-provider=local").assert_outcomes(passed=1)
