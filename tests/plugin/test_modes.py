"""Every row of the mode table (README), in real pytest sessions against a loopback server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_server import FakeOpenAI, fake_openai

KEY_ENV = "LLMBENCH_OPENAI_KEY"
KEY = "canary-modes-test-secret-0123456789abcdef"
CASSETTE = Path("cassettes/openai/test_live/test_hello[openai-gpt-a].yaml")

LIVE_TEST = """
import pytest

@pytest.mark.asyncio
async def test_hello(llm):
    completion = await llm.complete("Hi", max_tokens=5, stream=True)
    assert completion.text == "Hello there"
    assert completion.metrics.ttft_ms is not None
    print("REPLAYED" if completion.metrics.replayed else "LIVE")
"""


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with fake_openai() as running:
        yield running


@pytest.fixture
def live(project: pytest.Pytester, server: FakeOpenAI) -> pytest.Pytester:
    """A project whose `openai` provider points at the loopback server."""
    toml = Path(project.path, "models.toml")
    toml.write_text(toml.read_text().replace("https://api.openai.com/v1", server.base_url))
    project.makepyfile(test_live=LIVE_TEST)
    return project


def run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest("--llm-provider=openai", "-s", "-rsf", *args)


def record(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    run(project, "--llm-record-mode=once").assert_outcomes(passed=1)
    monkeypatch.delenv(KEY_ENV)


def test_record_with_credentials_calls_the_server_and_writes_the_cassette(
    live: pytest.Pytester, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    result = run(live, "--llm-record-mode=once")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*LIVE*"])
    assert len(server.requests) == 1
    text = Path(live.path, CASSETTE).read_text()
    assert 'content": "Hel"' in text  # bodies stored as readable text
    assert KEY not in text and "tracking-cookie" not in text
    assert "authorization" not in text.lower()


def test_record_without_credentials_is_an_error_naming_the_variable(
    live: pytest.Pytester,
) -> None:
    result = run(live, "--llm-record-mode=once")
    result.assert_outcomes(errors=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"*cannot record: {KEY_ENV} is not set*"])


def test_record_without_credentials_is_an_error_under_strict_too(live: pytest.Pytester) -> None:
    result = run(live, "--llm-record-mode=new_episodes", "--llm-strict")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*cannot record: {KEY_ENV} is not set*"])


def test_replay_with_cassette_replays_and_blocks_the_network(
    live: pytest.Pytester, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    record(live, monkeypatch)
    server.requests.clear()
    monkeypatch.setenv(KEY_ENV, KEY)  # credentials do not matter under --llm-replay
    result = run(live, "--llm-replay")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*REPLAYED*"])
    assert server.requests == []


def test_replay_without_cassette_skips_with_the_record_command(live: pytest.Pytester) -> None:
    result = run(live, "--llm-replay")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*no cassette to replay; record it with: *test_live.py::test_hello*--llm-record-mode=once*"
        ]
    )


def test_replay_without_cassette_fails_under_strict(live: pytest.Pytester) -> None:
    result = run(live, "--llm-replay", "--llm-strict")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no cassette to replay*"])


def test_default_with_credentials_calls_live_and_writes_nothing(
    live: pytest.Pytester, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    result = run(live)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*LIVE*"])
    assert len(server.requests) == 1
    assert server.requests[0]["headers"]["authorization"] == f"Bearer {KEY}"
    assert not Path(live.path, "cassettes").exists()


def test_default_without_credentials_replays_an_existing_cassette(
    live: pytest.Pytester, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    record(live, monkeypatch)
    server.requests.clear()
    result = run(live)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*REPLAYED*"])
    assert server.requests == []


def test_default_without_credentials_or_cassette_skips_with_variable_and_command(
    live: pytest.Pytester,
) -> None:
    result = run(live)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        [
            f"*{KEY_ENV} is not set and there is no cassette; set it and record with: {KEY_ENV}=... pytest*"
        ]
    )


def test_same_command_selects_live_tests_and_replays_under_marker_and_xdist(
    live: pytest.Pytester, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    record(live, monkeypatch)
    server.requests.clear()
    live.makepyfile(test_other="def test_unrelated():\n    pass\n")
    result = run(live, "-m", "live", "-n", "2", "--strict-markers")
    result.assert_outcomes(passed=1)  # the unrelated test, which would pass, was deselected
    assert server.requests == []


def test_strict_fails_when_recorded_interactions_are_not_played(
    live: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    record(live, monkeypatch)
    live.makepyfile(
        test_live="""
import pytest

@pytest.mark.asyncio
async def test_hello(llm):
    pass
"""
    )
    result = run(live, "--llm-replay", "--llm-strict")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*--llm-strict: 1 recorded interaction(s) of *were not played*"])


def test_mocked_tests_never_touch_the_network(
    live: pytest.Pytester, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    live.makepyfile(
        test_live="""
import pytest

@pytest.mark.mocked
@pytest.mark.asyncio
async def test_mocked(llm, llm_mock):
    llm_mock.reply("from the mock")
    assert (await llm.complete("Hi")).text == "from the mock"
"""
    )
    run(live).assert_outcomes(passed=1)
    assert server.requests == []
