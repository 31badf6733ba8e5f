"""Official SDKs through the plugin's clients, and clients across event-loop scopes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_server import FakeOpenAI, fake_openai

KEY_ENV = "LLMBENCH_OPENAI_KEY"
KEY = "canary-sdk-test-secret-0123456789abcdefghij"


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with fake_openai() as running:
        yield running


@pytest.fixture
def live(project: pytest.Pytester, server: FakeOpenAI) -> pytest.Pytester:
    toml = Path(project.path, "models.toml")
    toml.write_text(toml.read_text().replace("https://api.openai.com/v1", server.base_url))
    return project


OPENAI_SDK_TEST = """
import openai
import pytest

@pytest.mark.asyncio
async def test_sdk(llm_http_client, llm_provider):
    sdk = openai.AsyncOpenAI(api_key="unused", base_url=llm_provider.base_url,
                             http_client=llm_http_client, max_retries=0)
    stream = await sdk.chat.completions.create(
        model="gpt-a", messages=[{"role": "user", "content": "Hi"}], stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "Hello there"
"""


def test_openai_sdk_is_recorded_then_replayed(
    live: pytest.Pytester, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    live.makepyfile(test_sdk=OPENAI_SDK_TEST)
    monkeypatch.setenv(KEY_ENV, KEY)
    live.runpytest("--llm-provider=openai", "--llm-record-mode=once").assert_outcomes(passed=1)
    assert len(server.requests) == 1
    [cassette] = Path(live.path, "cassettes/openai/test_sdk").glob("*.yaml")
    assert "Hel" in cassette.read_text()
    monkeypatch.delenv(KEY_ENV)
    server.requests.clear()
    live.runpytest("--llm-provider=openai").assert_outcomes(passed=1)
    assert server.requests == []


def test_anthropic_sdk_is_mocked_through_the_httpx2_client(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import anthropic
        import pytest

        @pytest.mark.mocked
        @pytest.mark.llm(providers=["anthropic"])
        @pytest.mark.asyncio
        async def test_sdk(llm_httpx2_client, llm_mock):
            llm_mock.stream(["Bon", "jour"], ttft=0.01)
            sdk = anthropic.AsyncAnthropic(api_key="unused", http_client=llm_httpx2_client,
                                           max_retries=0)
            async with sdk.messages.stream(model="claude-a", max_tokens=8,
                                           messages=[{"role": "user", "content": "Hi"}]) as stream:
                text = "".join([t async for t in stream.text_stream])
            assert text == "Bonjour"
            llm_mock.error(529, "Overloaded")
            with pytest.raises(anthropic.APIStatusError) as info:
                await sdk.messages.create(model="claude-a", max_tokens=8,
                                          messages=[{"role": "user", "content": "Hi"}])
            assert info.value.status_code == 529
            assert "unused" in llm_mock.requests[0].headers.get("authorization", "") + llm_mock.requests[0].headers.get("x-api-key", "")
        """
    )
    project.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize("scope", ["function", "module", "session"])
def test_live_clients_work_whatever_the_loop_scope(
    live: pytest.Pytester, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, scope: str
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    live.makepyfile(
        test_loops=f"""
import pytest

@pytest.mark.asyncio(loop_scope="{scope}")
async def test_one(llm):
    assert (await llm.complete("Hi")).text == "Hello there"

@pytest.mark.asyncio(loop_scope="{scope}")
async def test_two(llm):
    assert (await llm.complete("Hi", stream=True)).text == "Hello there"

def test_sync(llm):
    assert llm.complete("Hi").text == "Hello there"
"""
    )
    result = live.runpytest("--llm-provider=openai", "-W", "error::ResourceWarning")
    result.assert_outcomes(passed=3)
    assert len(server.requests) == 3
    assert "attached to a different loop" not in result.stdout.str()


def test_baseline_regression_fails_the_session(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(
        test_regression_gate="""
import os
import pytest

@pytest.mark.mocked
@pytest.mark.asyncio
async def test_latency(llm_bench, llm_mock):
    llm_mock.stream(["a", "b"], ttft=float(os.environ["TTFT"]))
    await llm_bench("Hi", rounds=3, warmup=0)
"""
    )
    monkeypatch.setenv("TTFT", "0.0")
    project.runpytest("--llm-provider=openai", "--llm-report=base.json").assert_outcomes(passed=1)
    monkeypatch.setenv("TTFT", "0.1")
    result = project.runpytest(
        "--llm-provider=openai", "--llm-baseline=base.json", "--llm-fail=ttft.p50:+20%"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*ttft*"])
    ok = project.runpytest(
        "--llm-provider=openai", "--llm-baseline=base.json", "--llm-fail=ttft.p50:+100000%"
    )
    assert ok.ret == pytest.ExitCode.OK


def test_bad_fail_rule_is_a_usage_error(project: pytest.Pytester) -> None:
    project.makepyfile("def test_x(): pass")
    Path(project.path, "base.json").write_text('{"schema_version": 1}')
    result = project.runpytest("--llm-baseline=base.json", "--llm-fail=ttft:fast")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
