"""A model without prices in models.toml works; its cost is unknown (null, "–"), not 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

UNPRICED = """
[providers.free]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"

[[providers.free.models]]
id = "tiny"
context_window = 2048
"""


def test_a_model_without_prices_reports_unknown_cost(project: pytest.Pytester) -> None:
    project.makefile(".toml", models=UNPRICED)
    project.makepyfile(
        """
        import pytest

        @pytest.mark.mocked
        def test_free(llm_bench, llm_mock):
            llm_mock.reply("ok")
            stats = llm_bench("Hi", rounds=2, warmup=0)
            assert stats.cost_usd is None
        """
    )
    result = project.runpytest("--llm-report=out.json", "--llm-list")
    result.stdout.fnmatch_lines(
        ["*free:tiny (default)  context 2,048  no prices  [[]streaming,system[]]*"]
    )
    result = project.runpytest("--llm-report=out.json")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*free:tiny*–*"])
    [run] = json.loads(Path(project.path, "out.json").read_text())["runs"]
    assert run["cost_usd"] is None
