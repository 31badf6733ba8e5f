"""llm_cassette_dir and llm_match_ignore: the ini options' values, overridable in a conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_server import FakeOpenAI, fake_openai

KEY_ENV = "LLMBENCH_OPENAI_KEY"
KEY = "canary-fixtures-test-secret"
CASSETTE = Path("openai/test_live/test_hello[openai-gpt-a].yaml")

# The `user` field differs between runs, as a request id or a timestamp would.
LIVE_TEST = """
import os

import pytest

@pytest.mark.asyncio
async def test_hello(llm):
    completion = await llm.complete(
        "Hi", max_tokens=5, stream=True, extra={"user": os.environ["LLMBENCH_RUN_ID"]}
    )
    assert completion.text == "Hello there"
    print("REPLAYED" if completion.metrics.replayed else "LIVE")
"""

OTHER_DIR_CONFTEST = """
from pathlib import Path

import pytest

@pytest.fixture
def llm_cassette_dir():
    return Path(__file__).parent / "recorded"
"""

IGNORE_USER_CONFTEST = """
import pytest

@pytest.fixture
def llm_match_ignore():
    return ["user"]
"""


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with fake_openai() as running:
        yield running


@pytest.fixture
def live(
    project: pytest.Pytester, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    toml = Path(project.path, "models.toml")
    toml.write_text(toml.read_text().replace("https://api.openai.com/v1", server.base_url))
    project.makepyfile(test_live=LIVE_TEST)
    monkeypatch.setenv("LLMBENCH_RUN_ID", "first")
    return project


def record(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    result = project.runpytest("--llm-provider=openai", "--llm-record-mode=once", "-s")
    result.assert_outcomes(passed=1)
    monkeypatch.delenv(KEY_ENV)


def replay(project: pytest.Pytester) -> pytest.RunResult:
    return project.runpytest("--llm-provider=openai", "--llm-replay", "-s", "-rsf")


def test_the_default_cassette_dir_is_the_ini_option(
    live: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    live.makeini(
        "[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"
        "llm_cassette_dir = from-ini\n"
    )
    record(live, monkeypatch)
    assert Path(live.path, "from-ini", CASSETTE).is_file()


def test_a_conftest_llm_cassette_dir_moves_where_cassettes_are_written_and_read(
    live: pytest.Pytester, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    live.makeconftest(OTHER_DIR_CONFTEST)
    record(live, monkeypatch)
    assert Path(live.path, "recorded", CASSETTE).is_file()
    assert not Path(live.path, "cassettes").exists()
    server.requests.clear()
    result = replay(live)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*REPLAYED*"])
    assert server.requests == []


def test_without_an_override_a_changed_field_does_not_match(
    live: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    record(live, monkeypatch)
    monkeypatch.setenv("LLMBENCH_RUN_ID", "second")
    result = replay(live)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the closest recorded request is interaction #0*"])


def test_a_conftest_llm_match_ignore_leaves_its_paths_out_of_matching(
    live: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    live.makeconftest(IGNORE_USER_CONFTEST)
    record(live, monkeypatch)
    monkeypatch.setenv("LLMBENCH_RUN_ID", "second")
    result = replay(live)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*REPLAYED*"])


def test_an_override_of_the_wrong_type_fails_naming_the_fixture_and_the_fix(
    live: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    live.makeconftest(
        "import pytest\n\n@pytest.fixture\ndef llm_match_ignore():\n    return 'user'\n"
    )
    result = live.runpytest("--llm-provider=openai", "--llm-replay", "-rsfE")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*the llm_match_ignore fixture returned 'user'; return a list of dotted*"]
    )
