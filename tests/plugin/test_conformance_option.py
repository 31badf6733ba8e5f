"""`--llm-conformance` runs the built-in suite with no test module of the user's, the
star import keeps working, and only conformance checks fill the matrix."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_server import FakeOpenAI, fake_openai

import pytest_llmbench.conformance as suite

CHECKS = len(suite.__all__)
USER_TEST = """
import pytest

@pytest.mark.asyncio
async def test_user_own(llm):
    assert (await llm.complete("Hi", max_tokens=4)).text
"""


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with fake_openai() as running:
        yield running


@pytest.fixture
def local(project: pytest.Pytester, server: FakeOpenAI) -> pytest.Pytester:
    """A project whose keyless `local` provider points at the loopback OpenAI server."""
    toml = Path(project.path, "models.toml")
    toml.write_text(toml.read_text().replace("http://127.0.0.1:9/v1", server.base_url))
    return project


def collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if "::" in line]


def test_the_option_collects_the_whole_suite_without_a_test_module(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest("--llm-conformance", "--llm-provider=local", "--collect-only", "-q")
    ids = collected(result)
    assert len(ids) == CHECKS >= 40
    assert any(i.endswith("answers.py::test_answer_has_text[local:tiny]") for i in ids)
    assert {i.split("::")[0].rsplit("/", 1)[-1] for i in ids} == {
        f"{theme}.py"
        for theme in (
            "answers",
            "streaming",
            "parameters",
            "messages",
            "tools",
            "structured",
            "errors",
            "vision",
        )
    }


def test_without_the_option_the_suite_is_not_collected(project: pytest.Pytester) -> None:
    project.makepyfile(test_user=USER_TEST)
    result = project.runpytest("--llm-provider=local", "--collect-only", "-q")
    assert [i.split("[")[0] for i in collected(result)] == ["test_user.py::test_user_own"]


def test_given_paths_are_collected_besides_the_suite(project: pytest.Pytester) -> None:
    project.makepyfile(test_user=USER_TEST)
    result = project.runpytest(
        "test_user.py", "--llm-conformance", "--llm-provider=local", "--collect-only", "-q"
    )
    ids = collected(result)
    assert len(ids) == CHECKS + 1
    assert ids[0].startswith("test_user.py::test_user_own")


def test_keyword_and_provider_selection_combine_with_the_option(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest(
        "--llm-conformance", "--llm-provider=local,openai", "-k", "tool_choice", "-q", "--co"
    )
    ids = collected(result)
    assert len(ids) == 3 * 2  # three tool_choice checks on two targets
    assert all("tools.py::" in i for i in ids)


def test_marker_selection_combines_with_the_option(project: pytest.Pytester) -> None:
    result = project.runpytest(
        "--llm-conformance", "--llm-provider=local", "-m", "not live", "-q", "--co"
    )
    assert collected(result) == []


def test_star_import_still_brings_every_check(project: pytest.Pytester) -> None:
    project.makepyfile(test_suite="from pytest_llmbench.conformance import *  # noqa: F403\n")
    result = project.runpytest("--llm-provider=local", "--collect-only", "-q")
    assert len(collected(result)) == CHECKS


def test_skipped_checks_say_which_capability_is_missing(project: pytest.Pytester) -> None:
    result = project.runpytest("--llm-conformance", "--llm-provider=local", "-k", "vision", "-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*local:tiny lacks vision*"])


def test_matrix_and_json_section_hold_conformance_checks_only(
    local: pytest.Pytester,
) -> None:
    local.makepyfile(test_user=USER_TEST)
    result = local.runpytest(
        "test_user.py",
        "--llm-conformance",
        "--llm-provider=local",
        "-k",
        "user_own or (test_answer_has_text and not usage) or vision",
        "--llm-report=out.json",
    )
    result.assert_outcomes(passed=2, skipped=2)
    result.stdout.fnmatch_lines(["collected * items / * deselected / 4 selected"])
    data = json.loads(Path(local.path, "out.json").read_text())
    section = data["conformance"]
    assert [c["name"] for c in section["checks"]] == [
        "test_answer_has_text",
        "test_image_input_is_answered",
        "test_image_counts_as_input_tokens",
    ]
    assert section["checks"][0]["results"] == {"local:tiny": {"outcome": "passed", "reason": ""}}
    skipped = section["checks"][1]["results"]["local:tiny"]
    assert skipped == {"outcome": "skipped", "reason": "Skipped: local:tiny lacks vision"}
    assert {o["name"]: o["conformance"] for o in data["outcomes"]}["test_user_own"] is None
    text = result.stdout.str()
    matrix, tests = text.split("Conformance")[1].split("Tests")
    assert "test_user_own" not in matrix and "test_user_own" in tests


def test_the_suite_runs_under_xdist(project: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    result = project.runpytest_subprocess(
        "-n", "2", "--llm-conformance", "--llm-provider=local", "-k", "vision or prefill"
    )
    result.assert_outcomes(skipped=3)


def test_a_check_calls_the_selected_provider(local: pytest.Pytester, server: FakeOpenAI) -> None:
    result = local.runpytest(
        "--llm-conformance", "--llm-provider=local", "-k", "test_answer_has_a_response_id"
    )
    result.assert_outcomes(passed=1)
    assert [r["body"]["max_tokens"] for r in server.requests] == [4]


def test_a_check_for_another_wire_format_is_skipped_without_a_cassette(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest(
        "--llm-conformance", "--llm-provider=local", "-k", "prefill", "--llm-replay",
        "--llm-strict", "-rs",
    )  # fmt: skip
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*local:tiny: openai provider: documents no assistant prefill*"])


def _expect_failures(project: pytest.Pytester, checks: dict[str, str]) -> None:
    toml = Path(project.path, "models.toml")
    table = "\n".join(f'{name} = "{why}"' for name, why in checks.items())
    toml.write_text(f"{toml.read_text()}\n[providers.local.models.conformance_xfail]\n{table}\n")


def test_a_known_deviation_runs_as_an_expected_failure(local: pytest.Pytester) -> None:
    # The loopback server stops for "stop" whatever max_tokens says.
    _expect_failures(local, {"test_max_tokens_stops_with_length": "ignores max_tokens"})
    result = local.runpytest(
        "--llm-conformance", "--llm-provider=local", "-k", "max_tokens_stops", "-rx"
    )
    result.assert_outcomes(xfailed=1)
    result.stdout.fnmatch_lines(["*known deviation of local:tiny: ignores max_tokens*"])


def test_a_fixed_deviation_fails_the_run(local: pytest.Pytester) -> None:
    _expect_failures(local, {"test_answer_has_a_response_id": "sends no id"})
    result = local.runpytest("--llm-conformance", "--llm-provider=local", "-k", "response_id")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*XPASS(strict)*"])
