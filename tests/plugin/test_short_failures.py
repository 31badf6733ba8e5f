"""The plugin's own errors fail in a few lines by default; the full traceback is one option away."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_server import FakeOpenAI, fake_openai

MAX_LINES = 40

HITS_429 = """
import pytest

@pytest.mark.asyncio
async def test_busy(llm):
    await llm.complete("Hi")
"""

REFUSED = """
import pytest

@pytest.mark.llm(providers=["local"])
@pytest.mark.asyncio
async def test_refused(llm):
    await llm.complete("Hi")
"""


def failures_section(result: pytest.RunResult) -> list[str]:
    """The lines between the FAILURES (or ERRORS) banner and the next banner."""
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if " FAILURES " in line or " ERRORS " in line)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("=" * 5))
    return lines[start + 1 : end]


@pytest.fixture
def busy(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    with fake_openai() as server:
        server.fail_with = 429
        toml = Path(project.path, "models.toml")
        text = toml.read_text().replace("https://api.openai.com/v1", server.base_url)
        toml.write_text(text.replace("api_key_env", "max_retries = 0\napi_key_env", 1))
        monkeypatch.setenv("LLMBENCH_OPENAI_KEY", "canary-short-failures")
        project.makepyfile(test_busy=HITS_429)
        yield server


def test_a_rate_limit_error_shows_message_hint_and_request_in_few_lines(
    project: pytest.Pytester, busy: FakeOpenAI
) -> None:
    result = project.runpytest("--llm-provider=openai")
    result.assert_outcomes(failed=1)
    section = failures_section(result)
    assert len(section) <= MAX_LINES, "\n".join(section)
    text = "\n".join(section)
    assert "test_busy.py:5: in test_busy" in text
    assert "RateLimitError: openai HTTP 429 [busy]: Rate limit reached" in text
    assert "hint: lower the request rate" in text
    assert f"openai at {busy.base_url} (model gpt-a)" in text
    assert "--tb=long or -v" in text
    assert "site-packages" not in text


def test_a_refused_connection_shows_the_request_line(project: pytest.Pytester) -> None:
    project.makepyfile(test_refused=REFUSED)
    result = project.runpytest("--llm-provider=local")
    result.assert_outcomes(failed=1)
    section = failures_section(result)
    assert len(section) <= MAX_LINES, "\n".join(section)
    text = "\n".join(section)
    assert "ConnectionError" in text and "hint: check base_url" in text
    assert "POST http://127.0.0.1:9/v1/chat/completions" in text


def test_a_no_match_shows_its_message_in_few_lines(
    project: pytest.Pytester, busy: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy.fail_with = None
    project.makepyfile(test_busy=HITS_429)
    project.runpytest("--llm-provider=openai", "--llm-record-mode=once").assert_outcomes(passed=1)
    monkeypatch.delenv("LLMBENCH_OPENAI_KEY")
    project.makepyfile(test_busy=HITS_429.replace('"Hi"', '"Something else"'))
    result = project.runpytest("--llm-provider=openai")
    result.assert_outcomes(failed=1)
    section = failures_section(result)
    assert len(section) <= MAX_LINES, "\n".join(section)
    assert any("CassetteError" in line for line in section)
    assert any("--llm-record-mode=rewrite" in line for line in section)


def test_a_broken_cassette_fails_setup_in_few_lines(project: pytest.Pytester) -> None:
    project.makepyfile(test_busy=HITS_429)
    cassette = Path(project.path, "cassettes/openai/test_busy/test_busy[openai-gpt-a].yaml")
    cassette.parent.mkdir(parents=True)
    cassette.write_text("interactions: [\n")
    result = project.runpytest("--llm-provider=openai")
    result.assert_outcomes(errors=1)
    section = failures_section(result)
    assert len(section) <= 5, "\n".join(section)
    assert "test_busy[openai-gpt-a].yaml" in section[1]


@pytest.mark.parametrize("option", ["--tb=long", "-v"])
def test_the_full_traceback_is_shown_on_request(
    project: pytest.Pytester, busy: FakeOpenAI, option: str
) -> None:
    result = project.runpytest("--llm-provider=openai", option)
    result.assert_outcomes(failed=1)
    text = "\n".join(failures_section(result))
    assert "pytest_llmbench/client.py" in text
    assert "(the full traceback: --tb=long or -v)" not in text


def test_other_errors_keep_pytest_s_traceback(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        def helper():
            raise ValueError("not ours")

        def test_plain():
            helper()
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*def helper():*", "*ValueError: not ours*"])
