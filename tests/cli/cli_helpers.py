"""Helpers for the `llmbench` command's tests: a models.toml, an in-process runner, subprocesses.

In-process tests call `pytest_llmbench.cli.main(argv, transport=...)`: the transport factory
puts an LLMMock (the provider's exact wire format, no network) under every client.
Subprocess tests run `python -m pytest_llmbench` against llama-server on 127.0.0.1:8765.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from pytest_llmbench.cli import main
from pytest_llmbench.config import ProviderConfig, load_config
from pytest_llmbench.mocking import LLMMock

KEY_ENV = "LLMBENCH_CLI_TEST_KEY"
OTHER_KEY_ENV = "LLMBENCH_CLI_TEST_OTHER_KEY"
SECRET = "cli-test-secret-value-0123456789"

MODELS_TOML = f"""
[providers.mock]
kind = "openai"
base_url = "https://mock.llmbench.test/v1"
api_key_env = "{KEY_ENV}"
max_retries = 0

[[providers.mock.models]]
id = "mock-small"
context_window = 8192
input_per_mtok = 1.0
output_per_mtok = 2.0
capabilities = ["streaming", "system"]
default = true

[[providers.mock.models]]
id = "mock-large"
context_window = 8192
input_per_mtok = 10.0
output_per_mtok = 20.0
capabilities = ["streaming", "system"]

[providers.other]
kind = "anthropic"
base_url = "https://other.llmbench.test"
api_key_env = "{OTHER_KEY_ENV}"
max_retries = 0

[[providers.other.models]]
id = "other-model"
context_window = 8192
input_per_mtok = 1.0
output_per_mtok = 5.0
"""

LOCAL_URL = "http://127.0.0.1:8765"
REPO_MODELS_TOML = Path(__file__).resolve().parents[2] / "models.toml"
TIMEOUT_S = 60


@dataclass
class Outcome:
    """What one `llmbench` invocation did."""

    code: int
    out: str
    err: str


class Cli:
    """Runs `llmbench` in-process with every provider answered by its LLMMock."""

    def __init__(self, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.config = config
        self._capsys = capsys
        self._loaded = load_config(config)
        self.mocks: dict[str, LLMMock] = {}

    def mock(self, provider: str) -> LLMMock:
        """The mock answering for `provider` (made on first use)."""
        if provider not in self.mocks:
            config = self._loaded.provider(provider)
            self.mocks[provider] = LLMMock(config, config.model())
        return self.mocks[provider]

    def _transport(self, provider: ProviderConfig) -> httpx.AsyncBaseTransport:
        return self.mock(provider.name).transport

    def __call__(self, *args: str, config: bool = True) -> Outcome:
        argv = [*args, "--config", str(self.config)] if config else list(args)
        self._capsys.readouterr()
        code = main(argv, transport=self._transport)
        captured = self._capsys.readouterr()
        return Outcome(code, captured.out, captured.err)


def llmbench_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest_llmbench", *args]


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMBENCH_")}
    env.update({"PYTHONUNBUFFERED": "1", "COLUMNS": "160", **extra})
    return env


def run_llmbench(
    *args: str, cwd: Path, timeout: float = TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """`python -m pytest_llmbench ARGS` with stdin not a terminal, its output captured."""
    return subprocess.run(
        llmbench_argv(*args),
        cwd=cwd,
        env=subprocess_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
