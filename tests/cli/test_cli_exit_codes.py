"""Exit codes, error messages and hints: one per failure kind, never a traceback or a key."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from cli_helpers import KEY_ENV, SECRET, Cli

from pytest_llmbench.cli import main


def assert_clean(text: str) -> None:
    assert "Traceback" not in text
    assert SECRET not in text


@pytest.mark.parametrize(
    ("status", "code", "expected", "exit_code"),
    [
        (429, None, "RateLimit", 2),
        (400, "context_length_exceeded", "context", 3),
        (401, None, "invalid_api_key", 4),
        (403, None, "unsupported_country", 4),
        (500, None, "HTTP 500", 1),
        (404, None, "model_not_found", 1),
    ],
    ids=["rate-limited", "context-length", "authentication", "permission", "server", "not-found"],
)
def test_provider_errors_map_to_exit_codes(
    cli: Cli, status: int, code: str | None, expected: str, exit_code: int
) -> None:
    cli.mock("mock").error(status, f"the provider says no (HTTP {status})", code=code)
    result = cli("test", "mock", "--prompt", "Hi")
    assert result.code == exit_code, result.err
    assert f"the provider says no (HTTP {status})" in result.err
    assert "hint:" in result.err
    assert expected.lower() in result.err.lower() or exit_code == 2
    assert_clean(result.out + result.err)


def test_rate_limit_hint_names_the_limits(cli: Cli) -> None:
    cli.mock("mock").error(429, "slow down", retry_after=0)
    result = cli("test", "mock", "--prompt", "Hi")
    assert result.code == 2
    assert "hint: lower the request rate (rpm/tpm in models.toml)" in result.err


def test_authentication_hint_names_the_variable_and_hides_the_key(cli: Cli) -> None:
    cli.mock("mock").error(401, f"Incorrect API key provided: {SECRET}")
    result = cli("test", "mock", "--prompt", "Hi")
    assert result.code == 4
    assert f"<{KEY_ENV}>" in result.err
    assert f"hint: check that {KEY_ENV} holds a valid key" in result.err
    assert_clean(result.out + result.err)


def test_unreachable_endpoint_names_the_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "models.toml"
    config.write_text(
        f"""
[providers.down]
kind = "openai"
base_url = "http://127.0.0.1:{port}/v1"
max_retries = 0
connect_timeout_s = 2

[[providers.down.models]]
id = "m"
context_window = 100
input_per_mtok = 0
output_per_mtok = 0
""",
        encoding="utf-8",
    )
    code = main(["test", "down", "--prompt", "Hi", "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 1
    # (httpx-aiohttp reports a refused connection as ConnectTimeout: the address is what matters)
    assert f"POST http://127.0.0.1:{port}/v1/chat/completions" in err
    assert "hint:" in err
    assert "Traceback" not in err


def test_verbose_shows_the_traceback_of_an_internal_error(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("pytest_llmbench.cli.one_prompt._build_request", broken)
    quiet = cli("test", "mock", "--prompt", "Hi")
    assert quiet.code == 1
    assert "internal error: RuntimeError: a bug" in quiet.err
    assert "--verbose" in quiet.err
    assert "Traceback" not in quiet.err
    loud = cli("test", "mock", "--prompt", "Hi", "--verbose")
    assert loud.code == 1
    assert "Traceback" in loud.err


def test_keyboard_interrupt_exits_130_without_traceback(cli: Cli) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    cli.mock("mock").router.routes[0].side_effect = interrupted
    result = cli("test", "mock", "--prompt", "Hi")
    assert result.code == 130
    assert "interrupted" in result.err
    assert_clean(result.err)


# -- usage errors: exit 64 --------------------------------------------------------------------


def test_unknown_provider_lists_the_providers(cli: Cli) -> None:
    result = cli("test", "nope", "--prompt", "Hi")
    assert result.code == 64
    assert "unknown provider 'nope'" in result.err
    assert "mock, other" in result.err


def test_unknown_model_lists_the_models(cli: Cli) -> None:
    result = cli("test", "mock", "--model", "huge", "--prompt", "Hi")
    assert result.code == 64
    assert "no model 'huge'" in result.err
    assert "mock-small, mock-large" in result.err


def test_missing_provider_without_a_terminal_lists_the_choices(cli: Cli) -> None:
    result = cli("test", "--prompt", "Hi")
    assert result.code == 64
    assert "missing PROVIDER; choose one of: mock, other" in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-tokens", "0"], "--max-tokens"),
        (["--temperature", "-1"], "--temperature"),
        (["--top-p", "0"], "--top-p"),
        (["--output-format", "xml"], "--output-format"),
        (["--bogus"], "No such option"),
        ([], "Missing option '--prompt'"),
    ],
    ids=["max-tokens", "temperature", "top-p", "format", "unknown-option", "missing-prompt"],
)
def test_bad_options_are_usage_errors(cli: Cli, args: list[str], message: str) -> None:
    prompt = [] if args == [] else ["--prompt", "Hi"]
    result = cli("test", "mock", *prompt, *args)
    assert result.code == 64, result.err
    assert message in result.err
    assert cli.mocks.get("mock") is None or cli.mock("mock").requests == []


def test_unknown_command_is_a_usage_error(cli: Cli) -> None:
    assert cli("frobnicate", config=False).code == 64


def test_bad_config_names_the_file_and_the_field(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[providers.x]\nkind = "openai"\nbase_url = "http://h"\ntimeout_s = -1\n'
        '[[providers.x.models]]\nid = "m"\ncontext_window = 1\ninput_per_mtok = 0\n'
        "output_per_mtok = 0\n",
        encoding="utf-8",
    )
    result = cli("test", "x", "--prompt", "Hi", "--config", str(bad), config=False)
    assert result.code == 64
    assert str(bad) in result.err
    assert "providers.x.timeout_s" in result.err


def test_missing_config_says_how_to_name_one(cli: Cli, tmp_path: Path) -> None:
    result = cli("models", "--config", str(tmp_path / "none.toml"), config=False)
    assert result.code == 64
    assert "file not found" in result.err
    assert "--config PATH" in result.err
    assert "LLMBENCH_CONFIG" in result.err


def test_an_option_the_wire_format_lacks_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "models.toml"
    config.write_text(
        """
[providers.responses]
kind = "openai-responses"
base_url = "https://api.openai.com/v1"

[[providers.responses.models]]
id = "m"
context_window = 100
input_per_mtok = 0
output_per_mtok = 0
""",
        encoding="utf-8",
    )
    code = main(["test", "responses", "--prompt", "Hi", "--stop", "END", "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 64
    assert "stop" in err
    assert "hint:" in err


def test_help_exits_0(cli: Cli) -> None:
    result = cli("run", "--help", config=False)
    assert result.code == 0
    assert "--concurrent" in result.out
