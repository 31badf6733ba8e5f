"""Runs are keyed by node id: parametrized tests and same-named tests never merge."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

LENGTH_TEST = """
import pytest

@pytest.mark.mocked
@pytest.mark.asyncio
@pytest.mark.parametrize("max_tokens", {lengths})
async def test_by_length(llm_bench, llm_mock, benchmark, max_tokens):
    llm_mock.stream(["a"] * max_tokens, usage={{"input_tokens": 1, "output_tokens": max_tokens}})
    await llm_bench("Hi", rounds=2, warmup=0)
"""

ROUNDS_TEST = """
import pytest

@pytest.mark.mocked
@pytest.mark.asyncio
async def test_rounds(llm_bench, llm_mock):
    llm_mock.stream(["a"] * {tokens}, usage={{"input_tokens": 1, "output_tokens": {tokens}}})
    await llm_bench("Hi", rounds=2, warmup=0)
"""


def _runs(project: pytest.Pytester, report: str = "out.json") -> dict[str, int]:
    data = json.loads(Path(project.path, report).read_text())
    return {run["name"]: run["output_tokens"] for run in data["runs"]}


def test_parametrized_runs_are_reported_apart(project: pytest.Pytester) -> None:
    project.makepyfile(test_lengths=LENGTH_TEST.format(lengths=[2, 20]))
    result = project.runpytest(
        "--llm-provider=openai",
        "--llm-report=out.json",
        "--llm-csv=out.csv",
        "--llm-html=out.html",
        "--benchmark-json=bench.json",
    )
    result.assert_outcomes(passed=2)
    short, long = "test_lengths.py::test_by_length[2]", "test_lengths.py::test_by_length[20]"
    assert _runs(project) == {short: 4, long: 40}
    with Path(project.path, "out.csv").open() as rows:
        assert {row["run"] for row in csv.DictReader(rows)} == {short, long}
    html = Path(project.path, "out.html").read_text()
    assert short in html and long in html
    assert short in result.stdout.str() and long in result.stdout.str()
    benchmarks = json.loads(Path(project.path, "bench.json").read_text())["benchmarks"]
    assert sorted(b["params"]["max_tokens"] for b in benchmarks) == [2, 20]
    assert len({b["fullname"] for b in benchmarks}) == 2


def test_same_named_tests_in_two_modules_are_reported_apart(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_alpha=ROUNDS_TEST.format(tokens=3), test_beta=ROUNDS_TEST.format(tokens=30)
    )
    result = project.runpytest("--llm-provider=openai", "--llm-report=out.json")
    result.assert_outcomes(passed=2)
    assert _runs(project) == {"test_alpha.py::test_rounds": 6, "test_beta.py::test_rounds": 60}


def test_baseline_gate_compares_only_the_same_parameters(project: pytest.Pytester) -> None:
    project.makepyfile(test_lengths=LENGTH_TEST.format(lengths=[2]))
    project.runpytest("--llm-provider=openai", "--llm-report=base.json").assert_outcomes(passed=1)
    # The 20-token run is new: it costs ten times the 2-token run and must not be held to it.
    project.makepyfile(test_lengths=LENGTH_TEST.format(lengths=[20, 2]))
    result = project.runpytest(
        "--llm-provider=openai", "--llm-baseline=base.json", "--llm-fail=cost:+50%"
    )
    result.assert_outcomes(passed=2)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*New runs*test_by_length[[]20[]]*"])
