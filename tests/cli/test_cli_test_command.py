"""`llmbench test PROVIDER --prompt TEXT`: one prompt, its answer, timings and cost."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import pytest
from cli_helpers import KEY_ENV, Cli


class TimedWrites:
    """A stdout that remembers when each piece of text was written."""

    def __init__(self) -> None:
        self.writes: list[tuple[float, str]] = []

    def write(self, text: str) -> int:
        self.writes.append((time.perf_counter(), text))
        return len(text)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False

    @property
    def text(self) -> str:
        return "".join(text for _, text in self.writes)

    def first(self, needle: str) -> float:
        return next(t for t, text in self.writes if needle in text)


def test_pretty_shows_the_answer_usage_timings_and_cost(cli: Cli) -> None:
    cli.mock("mock").stream(
        ["Hello", " there", " friend"], usage={"input_tokens": 7, "output_tokens": 3}
    )
    result = cli("test", "mock", "--prompt", "Hi")
    assert result.code == 0, result.err
    assert "Hello there friend" in result.out
    for label in ("TTFT", "ITL", "tokens/s", "cost", "e2e"):
        assert label in result.out
    assert "7 in / 3 out" in result.out
    assert "mock:mock-small" in result.out
    assert "$0.000013" in result.out  # 7 x $1 + 3 x $2 per million tokens


def test_pretty_prints_tokens_as_they_arrive(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli.mock("mock").stream(["first", " second", " third"], itl=0.15)
    stdout = TimedWrites()
    monkeypatch.setattr(sys, "stdout", stdout)
    assert cli("test", "mock", "--prompt", "Hi").code == 0
    # the first token is on screen while the last one is still two gaps away
    assert stdout.first("third") - stdout.first("first") >= 0.25
    assert stdout.first("first") < stdout.first("TTFT")


def test_json_prints_the_completion_without_raw(cli: Cli) -> None:
    cli.mock("mock").stream(["a", "b"], usage={"input_tokens": 2, "output_tokens": 2})
    result = cli("test", "mock", "--prompt", "Hi", "--output-format", "json")
    assert result.code == 0, result.err
    assert len(result.out.strip().splitlines()) == 1
    body = json.loads(result.out)
    assert body["text"] == "ab"
    assert body["finish_reason"] == "stop"
    assert body["usage"] == {
        "input_tokens": 2,
        "output_tokens": 2,
        "cached_input_tokens": 0,
        "reasoning_tokens": 0,
    }
    assert body["metrics"]["ttft_ms"] is not None
    assert body["metrics"]["streamed"] is True
    assert "raw" not in body


def test_json_pretty_is_indented(cli: Cli) -> None:
    cli.mock("mock").reply("fine")
    result = cli("test", "mock", "--prompt", "Hi", "-o", "json-pretty", "--no-stream")
    assert result.code == 0, result.err
    assert result.out.startswith("{\n  ")
    assert json.loads(result.out)["text"] == "fine"


@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_plain_prints_only_the_text(cli: Cli, stream: str) -> None:
    cli.mock("mock").reply("just the words")
    result = cli("test", "mock", "--prompt", "Hi", "-o", "plain", stream)
    assert result.code == 0, result.err
    assert result.out == "just the words\n"


def test_request_options_reach_the_provider(cli: Cli) -> None:
    mock = cli.mock("mock")
    result = cli(
        "test", "mock", "--prompt", "Hi", "--system", "Be brief", "--max-tokens", "12",
        "--temperature", "0.5", "--top-p", "0.9", "--stop", "END", "--stop", "STOP",
        "--seed", "7", "--no-stream", "-o", "plain",
    )  # fmt: skip
    assert result.code == 0, result.err
    body: dict[str, Any] = mock.requests[0].json
    assert body["messages"] == [
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": "Hi"},
    ]
    assert body["max_tokens"] == 12
    assert (body["temperature"], body["top_p"]) == (0.5, 0.9)
    assert body["stop"] == ["END", "STOP"]
    assert body["seed"] == 7
    assert not body.get("stream")


def test_streams_by_default_when_the_model_can(cli: Cli) -> None:
    mock = cli.mock("mock")
    assert cli("test", "mock", "--prompt", "Hi", "-o", "plain").code == 0
    assert mock.requests[0].json["stream"] is True


@pytest.mark.parametrize("args", [["mock:mock-large"], ["mock", "--model", "mock-large"]])
def test_model_is_chosen_by_option_or_provider_prefix(cli: Cli, args: list[str]) -> None:
    mock = cli.mock("mock")
    result = cli("test", *args, "--prompt", "Hi", "-o", "json")
    assert result.code == 0, result.err
    assert mock.requests[0].json["model"] == "mock-large"
    assert json.loads(result.out)["metrics"]["model"] == "mock-large"


def test_tool_calls_are_shown(cli: Cli) -> None:
    cli.mock("mock").tool_call("get_weather", {"city": "Oslo"})
    result = cli("test", "mock", "--prompt", "Weather?")
    assert result.code == 0, result.err
    assert 'tool call: get_weather({"city": "Oslo"})' in result.out


def test_missing_key_names_the_variable_and_sends_nothing(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV)
    mock = cli.mock("mock")
    result = cli("test", "mock", "--prompt", "Hi")
    assert result.code == 4
    assert f"{KEY_ENV} is not set" in result.err
    assert f"hint: set {KEY_ENV}" in result.err
    assert mock.requests == []
