"""The README's tour works as documented in a fresh project (its code blocks, run as they are)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_server import FakeOpenAI, fake_openai

README = Path(__file__).resolve().parents[2] / "README.md"


def block(language: str, first_line: str) -> str:
    for match in re.finditer(rf"```{language}\n(.*?)```", README.read_text(), re.S):
        if match.group(1).startswith(first_line):
            return match.group(1)
    raise AssertionError(f"README has no {language} block starting {first_line!r}")


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with fake_openai() as running:
        yield running


@pytest.fixture
def tour(
    pytester: pytest.Pytester, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    for name in ("OPENAI_API_KEY", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT"):
        monkeypatch.delenv(name, raising=False)
    toml = block("toml", "[providers.openai]").replace("https://api.openai.com/v1", server.base_url)
    pytester.makefile(".toml", models=toml)
    pytester.mkdir("tests")
    Path(pytester.path, "tests/test_tour.py").write_text(block("python", "# tests/test_tour.py"))
    return pytester


def test_tour_passes_live_with_the_key(
    tour: pytest.Pytester, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "canary-readme-tour-0123456789abcdefghij")
    tour.runpytest("--llm-provider=openai").assert_outcomes(passed=3)
    assert len(server.requests) == 1  # the live check; the mocked ones never reach it


def test_tour_without_the_key_skips_the_live_check_and_runs_the_mocked_ones(
    tour: pytest.Pytester,
) -> None:
    result = tour.runpytest("--llm-provider=openai", "-rs")
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(["*OPENAI_API_KEY is not set and there is no cassette*"])


def test_recorded_tour_replays_without_the_key(
    tour: pytest.Pytester, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "canary-readme-tour-0123456789abcdefghij")
    tour.runpytest("--llm-provider=openai", "--llm-record-mode=once").assert_outcomes(passed=3)
    monkeypatch.delenv("OPENAI_API_KEY")
    server.requests.clear()
    tour.runpytest("--llm-provider=openai", "-m", "live").assert_outcomes(passed=1)
    assert server.requests == []
