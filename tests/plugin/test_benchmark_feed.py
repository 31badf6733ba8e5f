"""llm_bench runs reach pytest-benchmark without the test asking for its `benchmark` fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ONLY_LLM_BENCH = """
import pytest

@pytest.mark.mocked
@pytest.mark.asyncio
async def test_latency(llm_bench, llm_mock):
    llm_mock.stream(["a", "b"], ttft=0.01, itl=0.001)
    await llm_bench("Hi", rounds=3, warmup=0)

def test_plain():
    pass
"""


@pytest.fixture
def bench_project(project: pytest.Pytester) -> pytest.Pytester:
    project.makepyfile(ONLY_LLM_BENCH)
    return project


def benchmarks(project: pytest.Pytester, name: str) -> list[dict[str, object]]:
    data = json.loads(Path(project.path, name).read_text())
    return list(data["benchmarks"])


def test_runs_appear_in_the_table_and_json_without_the_benchmark_fixture(
    bench_project: pytest.Pytester,
) -> None:
    result = bench_project.runpytest("--llm-provider=openai", "--benchmark-json=out.json")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*benchmark: 1 tests*", "test_latency[[]openai:gpt-a[]]*"])
    [entry] = benchmarks(bench_project, "out.json")
    assert entry["name"] == "test_latency[openai:gpt-a]"
    assert entry["stats"]["rounds"] == 3  # type: ignore[index]


def test_runs_appear_in_the_json_under_xdist_without_the_benchmark_fixture(
    bench_project: pytest.Pytester,
) -> None:
    result = bench_project.runpytest("--llm-provider=openai", "-n", "2", "--benchmark-json=x.json")
    result.assert_outcomes(passed=2)
    [entry] = benchmarks(bench_project, "x.json")
    assert (
        entry["fullname"]
        == "test_runs_appear_in_the_json_under_xdist_without_the_benchmark_fixture.py::test_latency[openai:gpt-a]"
    )
    assert "automatically disabled because xdist" not in result.stdout.str()


def test_autosave_and_compare_work_without_the_benchmark_fixture(
    bench_project: pytest.Pytester,
) -> None:
    bench_project.runpytest("--llm-provider=openai", "--benchmark-autosave").assert_outcomes(
        passed=2
    )
    [saved] = Path(bench_project.path, ".benchmarks").rglob("*.json")
    assert json.loads(saved.read_text())["benchmarks"][0]["name"] == "test_latency[openai:gpt-a]"
    result = bench_project.runpytest("--llm-provider=openai", "--benchmark-compare", "-n", "2")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_latency*(NOW)*"])  # rows sorted by time: two checks
    result.stdout.fnmatch_lines(["*test_latency*(0001*"])


def test_benchmark_disable_runs_the_test_and_records_nothing(
    bench_project: pytest.Pytester,
) -> None:
    result = bench_project.runpytest(
        "--llm-provider=openai", "--benchmark-disable", "--benchmark-json=out.json"
    )
    result.assert_outcomes(passed=2)
    assert not Path(bench_project.path, "out.json").exists()
    assert "benchmark: 1 tests" not in result.stdout.str()


def test_benchmark_skip_skips_llm_bench_tests(bench_project: pytest.Pytester) -> None:
    result = bench_project.runpytest("--llm-provider=openai", "--benchmark-skip", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*Skipping benchmark (--benchmark-skip active)*"])


def test_benchmark_only_keeps_llm_bench_tests(bench_project: pytest.Pytester) -> None:
    result = bench_project.runpytest("--llm-provider=openai", "--benchmark-only")
    result.assert_outcomes(passed=1, skipped=1)  # test_plain is the one skipped
    result.stdout.fnmatch_lines(["*benchmark: 1 tests*"])


def test_llm_bench_works_without_pytest_benchmark_loaded(bench_project: pytest.Pytester) -> None:
    result = bench_project.runpytest("--llm-provider=openai", "-p", "no:benchmark")
    result.assert_outcomes(passed=2)
