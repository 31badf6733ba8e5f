"""Recordings that cannot do what was asked say so: unrecorded error responses, empty files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_server import FakeOpenAI, fake_openai

KEY_ENV = "LLMBENCH_OPENAI_KEY"
CASSETTE = Path("cassettes/openai/test_busy/test_rate_limit[openai-gpt-a].yaml")

EXPECTS_429 = """
import pytest
from pytest_llmbench import errors

@pytest.mark.asyncio
async def test_rate_limit(llm):
    with pytest.raises(errors.RateLimitError):
        await llm.complete("Hi")
"""


@pytest.fixture
def busy(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    """The `openai` provider points at a loopback server answering 429, with a key set."""
    with fake_openai() as server:
        server.fail_with = 429
        toml = Path(project.path, "models.toml")
        text = toml.read_text().replace("https://api.openai.com/v1", server.base_url)
        toml.write_text(
            text.replace(
                'api_key_env = "LLMBENCH_OPENAI_KEY"',
                'api_key_env = "LLMBENCH_OPENAI_KEY"\nmax_retries = 0',
                1,
            )
        )
        monkeypatch.setenv(KEY_ENV, "canary-recording-problems")
        yield server


def test_unrecorded_error_response_is_said_in_the_test_report(
    project: pytest.Pytester, busy: FakeOpenAI
) -> None:
    project.makepyfile(test_busy=EXPECTS_429)
    result = project.runpytest("--llm-provider=openai", "--llm-record-mode=once", "-rP")
    result.assert_outcomes(passed=1)
    assert not Path(project.path, CASSETTE).exists()
    result.stdout.fnmatch_lines(
        [
            "*- llmbench teardown: error responses not recorded -*",
            "not recorded: POST http://127.0.0.1:*/v1/chat/completions -> 429",
            "*@pytest.mark.live(record_errors=True)*",
        ]
    )


def test_unrecorded_error_response_is_said_in_the_session_summary_under_xdist(
    project: pytest.Pytester, busy: FakeOpenAI
) -> None:
    project.makepyfile(test_busy=EXPECTS_429)
    result = project.runpytest("--llm-provider=openai", "--llm-record-mode=once", "-n", "2")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*= llmbench: error responses not recorded =*",
            "test_busy.py::test_rate_limit[[]openai:gpt-a[]]: POST http://*/chat/completions -> 429",
            "*add @pytest.mark.live(record_errors=True)*",
        ]
    )


def test_error_responses_are_recorded_with_record_errors_and_nothing_is_said(
    project: pytest.Pytester, busy: FakeOpenAI
) -> None:
    project.makepyfile(
        test_busy=EXPECTS_429.replace(
            "@pytest.mark.asyncio", "@pytest.mark.live(record_errors=True)\n@pytest.mark.asyncio"
        )
    )
    result = project.runpytest("--llm-provider=openai", "--llm-record-mode=once")
    result.assert_outcomes(passed=1)
    assert "429" in Path(project.path, CASSETTE).read_text()
    assert "not recorded" not in result.stdout.str()


def test_an_empty_cassette_is_an_error_naming_the_file(project: pytest.Pytester) -> None:
    project.makepyfile(test_busy=EXPECTS_429)
    Path(project.path, CASSETTE).parent.mkdir(parents=True)
    Path(project.path, CASSETTE).write_bytes(b"")
    result = project.runpytest("--llm-provider=openai")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*CassetteError: *test_rate_limit[[]openai-gpt-a[]].yaml: empty cassette file*rewrite"]
    )


def test_rewrite_replaces_an_empty_cassette(project: pytest.Pytester, busy: FakeOpenAI) -> None:
    busy.fail_with = None
    project.makepyfile(
        test_busy='import pytest\n\n@pytest.mark.asyncio\nasync def test_rate_limit(llm):\n    await llm.complete("Hi")\n'
    )
    Path(project.path, CASSETTE).parent.mkdir(parents=True)
    Path(project.path, CASSETTE).write_bytes(b"")
    result = project.runpytest("--llm-provider=openai", "--llm-record-mode=rewrite")
    result.assert_outcomes(passed=1)
    assert "Hello there" in Path(project.path, CASSETTE).read_text()


def test_report_mode_is_one_of_the_documented_values(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_mocked="""
        import pytest

        @pytest.mark.mocked
        def test_reply(llm, llm_mock):
            llm_mock.reply("ok")
            assert llm.complete("Hi").text == "ok"
        """
    )
    project.runpytest("--llm-provider=openai", "--llm-report=out.json").assert_outcomes(passed=1)
    assert json.loads(Path(project.path, "out.json").read_text())["meta"]["mode"] == "mocked"


def test_report_mode_is_mixed_when_tests_ran_in_different_modes(
    project: pytest.Pytester, busy: FakeOpenAI
) -> None:
    project.makepyfile(
        test_mixed="""
        import pytest

        @pytest.mark.mocked
        def test_reply(llm, llm_mock):
            llm_mock.reply("ok")
            assert llm.complete("Hi").text == "ok"

        def test_live(llm):
            pass
        """
    )
    result = project.runpytest("--llm-provider=openai", "-n", "2", "--llm-report=out.json")
    result.assert_outcomes(passed=2)
    assert json.loads(Path(project.path, "out.json").read_text())["meta"]["mode"] == "mixed"
